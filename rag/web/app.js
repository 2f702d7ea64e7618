// rag serve's page. No framework, no build step, no external asset.
// Model and paper text is only ever put in the page as text (textContent, text nodes), never as HTML.
"use strict";

(() => {
  const UNSUPPORTED_NOTE = "(no supporting source found)";
  const ABSTAIN_REASONS = {
    retrieval: "no paper in the collection matches the question well enough",
    figure: "the question asks for a figure that the abstract of the best-matching paper does not state",
    detail: "the question asks which named thing the paper used, and the abstract of the best-matching paper names none",
    name: "the question names a paper and also something its abstract never mentions",
    term: "the question asks what a term is, and no abstract found uses it",
    model: "the model found no answer in the retrieved papers",
    unsupported: "no sentence of the model's draft was supported by the papers it cited",
    empty: "the model wrote nothing",
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    form: $("ask-form"), question: $("question"), submit: $("submit"), stop: $("stop"),
    tokenRow: $("token-row"), token: $("token"), info: $("index-info"), status: $("status"),
    draftSection: $("draft-section"), draft: $("draft"),
    answerSection: $("answer-section"), answerHeading: $("answer-heading"), answerNote: $("answer-note"), answer: $("answer"),
    referencesHeading: $("references-heading"), references: $("references"),
    papersSection: $("papers-section"), papersHeading: $("papers-heading"), papers: $("papers"),
    evidence: $("evidence"), evidenceHead: $("evidence-head"), evidenceClose: $("evidence-close"), evidenceLabel: $("evidence-label"),
    evidenceTitle: $("evidence-title"), evidenceAbstract: $("evidence-abstract"), evidenceMeta: $("evidence-meta"),
  };

  let controller = null; // the request in flight (Stop aborts it: the server then cancels the generation)
  let evidenceSeq = 0; // the latest evidence asked for wins
  const paperCache = new Map(); // paper id -> Promise of /papers/{id}

  // -- helpers ---------------------------------------------------------------------------

  function node(tag, props = {}, children = []) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) e.append(c);
    return e;
  }

  function headers(json) {
    const h = {};
    if (json) h["Content-Type"] = "application/json";
    const token = el.token.value.trim() || sessionStorage.getItem("rag-token") || "";
    if (token) h["Authorization"] = "Bearer " + token;
    return h;
  }

  function setStatus(text, isError = false) {
    el.status.textContent = text;
    el.status.classList.toggle("error", isError);
  }

  async function errorText(resp) {
    let message = resp.status + " " + resp.statusText;
    try {
      const body = await resp.json();
      if (body && typeof body.error === "string") message = body.error;
    } catch (_) { /* not JSON */ }
    if (resp.status === 401) {
      el.tokenRow.hidden = false;
      el.token.focus();
    }
    return message;
  }

  function busy(on) {
    el.submit.disabled = on;
    el.stop.hidden = !on;
  }

  function clearResults() {
    el.draftSection.hidden = true;
    el.draft.textContent = "";
    el.answerSection.hidden = true;
    el.answerNote.hidden = true;
    el.answer.replaceChildren();
    el.references.replaceChildren();
    el.referencesHeading.hidden = true;
    el.papersSection.hidden = true;
    el.papers.replaceChildren();
    hideEvidence();
  }

  // -- evidence: a paper's abstract with the quoted sentences highlighted ----------------------------

  function paper(id) {
    if (!paperCache.has(id)) {
      const p = fetch("/papers/" + encodeURIComponent(id), { headers: headers(false) }).then(async (resp) => {
        if (!resp.ok) throw new Error(await errorText(resp));
        return resp.json();
      });
      p.catch(() => paperCache.delete(id));
      paperCache.set(id, p);
    }
    return paperCache.get(id);
  }

  function hideEvidence() {
    el.evidence.hidden = true;
    document.body.classList.remove("sheet-open");
    for (const a of document.querySelectorAll(".active")) a.classList.remove("active");
  }

  function activate(key) {
    for (const a of document.querySelectorAll(".active")) a.classList.remove("active");
    for (const a of document.querySelectorAll(`[data-key="${CSS.escape(key)}"]`)) a.classList.add("active");
  }

  // item: {key, label, paperId, title, quotes: [{text, start?, end?}]}: the abstract's sentences to highlight
  async function showEvidence(item) {
    const seq = ++evidenceSeq;
    activate(item.key);
    el.evidence.hidden = false;
    document.body.classList.add("sheet-open");
    fitPanel();
    el.evidenceLabel.textContent = item.label;
    el.evidenceTitle.textContent = item.title;
    el.evidenceAbstract.replaceChildren(...item.quotes.map((q) => node("mark", { text: q.text })));
    el.evidenceMeta.textContent = "loading the abstract…";
    let p;
    try {
      p = await paper(item.paperId);
    } catch (err) {
      if (seq === evidenceSeq) el.evidenceMeta.textContent = "could not load the abstract: " + err.message;
      return;
    }
    if (seq !== evidenceSeq) return;
    const abstract = p.abstract;
    const spans = [];
    for (const q of item.quotes) {
      let start = Number.isInteger(q.start) ? q.start : -1;
      let end = Number.isInteger(q.end) ? q.end : -1;
      if (start < 0 || abstract.slice(start, end) !== q.text) {
        start = q.text ? abstract.indexOf(q.text) : -1;
        end = start < 0 ? -1 : start + q.text.length;
      }
      if (start >= 0 && !spans.some(([a, b]) => start < b && a < end)) spans.push([start, end]);
    }
    spans.sort((x, y) => x[0] - y[0]);
    const parts = [];
    let at = 0;
    for (const [start, end] of spans) {
      parts.push(document.createTextNode(abstract.slice(at, start)), node("mark", { text: abstract.slice(start, end) }));
      at = end;
    }
    parts.push(document.createTextNode(abstract.slice(at)));
    el.evidenceAbstract.replaceChildren(...parts);
    const first = el.evidenceAbstract.querySelector("mark");
    if (first) reveal(first);
    el.evidenceTitle.textContent = p.title;
    const sources = (p.sources || []).join(", ");
    el.evidenceMeta.textContent = "paper " + p.paper_id + (sources ? " · from " + sources : "");
  }

  // on a laptop the panel sits beside the answer: as tall as the window leaves below its top
  function fitPanel() {
    if (el.evidence.hidden || !window.matchMedia("(min-width: 900px)").matches) {
      el.evidence.style.maxHeight = "";
      return;
    }
    const top = Math.max(el.evidence.getBoundingClientRect().top, 16);
    el.evidence.style.maxHeight = Math.max(240, window.innerHeight - top - 16) + "px";
  }

  // scroll the panel (not the page) so the highlighted sentence is in view below the title
  function reveal(mark) {
    fitPanel();
    el.evidence.scrollTop = 0;
    const panel = el.evidence.getBoundingClientRect();
    const top = el.evidenceHead.getBoundingClientRect().bottom;
    const bottom = Math.min(panel.bottom, window.innerHeight);
    const r = mark.getBoundingClientRect();
    if (r.top >= top && r.bottom <= bottom) return;
    el.evidence.scrollTop = Math.max(0, r.top - top - (bottom - top) / 5);
  }

  function bindEvidence(target, item) {
    target.setAttribute("data-key", item.key);
    target.addEventListener("mouseenter", () => showEvidence(item));
    target.addEventListener("focus", () => showEvidence(item));
    target.addEventListener("click", (ev) => {
      ev.preventDefault();
      showEvidence(item);
    });
  }

  // -- the answer ------------------------------------------------------------------------

  function referenceItem(ref) {
    return {
      key: "ref-" + ref.n,
      label: "[" + ref.n + "] " + (quotesOf(ref).length > 1 ? "the sentences that support the answer" : "the sentence that supports the answer") +
        ", best support " + ref.support.toFixed(2),
      paperId: ref.paper_id, title: ref.title, quotes: quotesOf(ref),
    };
  }

  // one sentence per claim citing the reference, in abstract order (older answers: the one sentence)
  function quotesOf(ref) {
    return ref.quotes && ref.quotes.length ? ref.quotes : [{ text: ref.sentence, start: ref.start, end: ref.end }];
  }

  function paperItem(p) {
    return {
      key: "paper-" + p.paper_id, label: "#" + p.rank + " retrieved · the sentence that matched the question",
      paperId: p.paper_id, title: p.title, quotes: [{ text: p.sentence }],
    };
  }

  function appendText(parent, text) {
    const parts = text.split(UNSUPPORTED_NOTE);
    parts.forEach((part, i) => {
      if (i > 0) parent.append(node("span", { class: "muted", text: UNSUPPORTED_NOTE, title: "no retrieved paper supports this sentence" }));
      if (part) parent.append(document.createTextNode(part));
    });
  }

  function renderText(text, refs) {
    const out = document.createDocumentFragment();
    const re = /\[(\d+)\]/g;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      appendText(out, text.slice(last, m.index));
      const ref = refs.get(Number(m[1]));
      if (ref) {
        // a link, not a button: it wraps like text (no line break between [n] and the full stop)
        const b = node("a", { href: "#reference-" + ref.n, class: "cite", text: m[0], title: ref.title });
        b.setAttribute("role", "button");
        b.setAttribute("aria-label", "reference " + ref.n + ": " + ref.title);
        bindEvidence(b, referenceItem(ref));
        out.append(b);
      } else {
        appendText(out, m[0]);
      }
      last = re.lastIndex;
    }
    appendText(out, text.slice(last));
    return out;
  }

  function paperList(list, items) {
    for (const p of items) {
      const li = node("li", { tabIndex: 0 }, [
        node("span", { class: "rank", text: p.rank + "." }),
        node("span", { class: "item-title", text: p.title }),
        node("span", { class: "item-sentence", text: "“" + p.sentence + "”" }),
      ]);
      bindEvidence(li, paperItem(p));
      list.append(li);
    }
  }

  function renderAnswer(a) {
    el.draftSection.hidden = true;
    el.answerSection.hidden = false;
    const refs = new Map(a.references.map((r) => [r.n, r]));
    el.answer.replaceChildren();
    el.answerNote.hidden = true;
    if (a.status === "retrieval_only") {
      el.answerHeading.textContent = "No answer generated";
      el.answerNote.textContent = "Retrieval only: " + (a.error || "the model is unavailable") + ". The most relevant papers are listed below.";
      el.answerNote.hidden = false;
    } else if (a.abstained) {
      el.answerHeading.textContent = "No answer in the collection";
      el.answer.append(document.createTextNode(a.text));
      el.answerNote.textContent = "Abstained: " + (ABSTAIN_REASONS[a.abstain_reason] || a.abstain_reason || "no supported answer") + ".";
      el.answerNote.hidden = false;
    } else {
      el.answerHeading.textContent = "Answer";
      el.answer.append(renderText(a.text, refs));
      const unsupported = a.text.split(UNSUPPORTED_NOTE).length - 1; // shown ones only (a hedged answer drops them)
      const notes = [];
      if (a.mode === "extractive") notes.push("Quoted from the papers: the model's own draft did not pass verification.");
      if (unsupported) notes.push(unsupported + " sentence(s) marked " + UNSUPPORTED_NOTE + " are not backed by any retrieved paper.");
      if (notes.length) {
        el.answerNote.textContent = notes.join(" ");
        el.answerNote.hidden = false;
      }
    }
    el.references.replaceChildren();
    for (const ref of a.references) {
      const li = node("li", { tabIndex: 0, id: "reference-" + ref.n }, [
        node("span", { class: "rank", text: "[" + ref.n + "]" }),
        node("span", { class: "item-title", text: ref.title }),
        ...quotesOf(ref).map((q) => node("span", { class: "item-sentence", text: "“" + q.text + "”" })),
      ]);
      bindEvidence(li, referenceItem(ref));
      el.references.append(li);
    }
    el.referencesHeading.hidden = a.references.length === 0;

    const uncited = a.status === "answered" ? a.retrieved.filter((p) => p.cited_as === null) : a.retrieved;
    el.papers.replaceChildren();
    paperList(el.papers, uncited);
    el.papersHeading.textContent = a.status === "answered" ? "Also retrieved, not cited" : a.abstained ? "Closest papers" : "Papers";
    el.papersSection.hidden = uncited.length === 0;

    const total = a.timings ? a.timings.total_s : 0;
    const seconds = total >= 1 ? total.toFixed(1) + " s" : total > 0 ? Math.round(total * 1000) + " ms" : "";
    const what = a.status === "answered" ? a.references.length + " reference(s), verified" : a.status.replace("_", " ");
    setStatus([what, seconds, a.model].filter(Boolean).join(" · "));
  }

  // -- server-sent events over fetch (the request is a POST, so no EventSource) ---------------

  async function readEvents(resp, onEvent) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (!line || line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
        if (data.length) onEvent(event, JSON.parse(data.join("\n")));
      }
    }
  }

  async function ask(question) {
    clearResults();
    setStatus("Finding the papers and drafting an answer…");
    controller = new AbortController();
    busy(true);
    let answered = false;
    try {
      const resp = await fetch("/ask/stream", {
        method: "POST", headers: headers(true), body: JSON.stringify({ question }), signal: controller.signal,
      });
      if (!resp.ok) {
        setStatus(await errorText(resp), true); // a full queue's message says when to retry
        return;
      }
      await readEvents(resp, (event, data) => {
        if (event === "token") {
          el.draftSection.hidden = false;
          el.draft.textContent += data.text;
          setStatus("Drafting… the answer is verified against the papers when the draft is done.");
        } else if (event === "answer") {
          answered = true;
          renderAnswer(data);
        } else if (event === "error") {
          answered = true;
          setStatus(data.error, true);
        }
      });
      if (!answered) setStatus("The connection ended before the answer arrived.", true);
    } catch (err) {
      if (err.name === "AbortError") setStatus("Stopped.");
      else setStatus("Request failed: " + err.message, true);
    } finally {
      controller = null;
      busy(false);
    }
  }

  async function search(query) {
    clearResults();
    setStatus("Searching…");
    controller = new AbortController();
    busy(true);
    try {
      const resp = await fetch("/search?" + new URLSearchParams({ q: query, k: "10" }), { headers: headers(false), signal: controller.signal });
      if (!resp.ok) {
        setStatus(await errorText(resp), true);
        return;
      }
      const body = await resp.json();
      el.papers.replaceChildren();
      for (const h of body.results) {
        const li = node("li", { tabIndex: 0 }, [
          node("span", { class: "rank", text: h.rank + "." }),
          node("span", { class: "item-title", text: h.title }),
          node("span", { class: "item-sentence", text: "“" + h.sentence + "”" }),
        ]);
        bindEvidence(li, {
          key: "hit-" + h.paper_id, label: "#" + h.rank + " · score " + h.score.toFixed(4) + " · the sentence that matched best",
          paperId: h.paper_id, title: h.title, quotes: [{ text: h.sentence, start: h.sentence_start, end: h.sentence_end }],
        });
        el.papers.append(li);
      }
      el.papersHeading.textContent = "Papers";
      el.papersSection.hidden = body.results.length === 0;
      setStatus(body.results.length ? body.results.length + " paper(s) · " + (body.seconds * 1000).toFixed(0) + " ms" : "No matching papers.");
    } catch (err) {
      if (err.name === "AbortError") setStatus("Stopped.");
      else setStatus("Request failed: " + err.message, true);
    } finally {
      controller = null;
      busy(false);
    }
  }

  // -- wiring ----------------------------------------------------------------------------

  function mode() {
    return el.form.querySelector('input[name="mode"]:checked').value;
  }

  el.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = el.question.value.trim();
    if (!text || controller) return;
    if (el.token.value.trim()) sessionStorage.setItem("rag-token", el.token.value.trim());
    if (mode() === "search") search(text);
    else ask(text);
  });
  el.question.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      el.form.requestSubmit();
    }
  });
  for (const radio of el.form.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => {
      el.submit.textContent = mode() === "search" ? "Search" : "Ask";
    });
  }
  el.stop.addEventListener("click", () => controller && controller.abort());
  el.evidenceClose.addEventListener("click", hideEvidence);
  window.addEventListener("scroll", fitPanel, { passive: true });
  window.addEventListener("resize", fitPanel);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") hideEvidence();
  });

  fetch("/health")
    .then((resp) => resp.json())
    .then((h) => {
      if (h.index) {
        el.info.textContent = h.index.papers + " papers · " + h.model + " · settings " + h.settings_hash;
      } else {
        el.info.textContent = h.error || "no index";
      }
      if (h.max_question_chars) el.question.maxLength = h.max_question_chars;
      if (h.auth) {
        el.tokenRow.hidden = false;
        el.token.value = sessionStorage.getItem("rag-token") || "";
      }
    })
    .catch(() => {
      el.info.textContent = "the server does not answer";
    });
})();
