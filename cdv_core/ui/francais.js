// Streamlit's own interface strings in French (cdv_core/ui/francais.py injects this file).
//
// Streamlit 1.67 has no locale setting: its menus, tooltips, aria labels, placeholders and
// dialogs are English string literals in its frontend bundle. This script runs once per
// browser document (st.html with JavaScript, in the main document, not an iframe) and keeps
// translating: a MutationObserver on <body> rewrites, as they appear or change,
//   - text nodes whose whole (trimmed) text is a known English string, and
//   - the title, aria-label and placeholder attributes likewise.
// Only exact known strings (and a few anchored patterns, e.g. file sizes « 359.0B ») are
// replaced; a French result is never a key again, so a rewrite cannot trigger another one.
// React does not read text back from the DOM: when it re-renders a node with its English
// string, the observer sees the change and translates it again.
(function () {
  "use strict";
  if (window.__cdvFr) {
    return; // already installed in this document (reruns and page changes keep it)
  }
  // Filled in by francais.py: {"exact": {english: french}, "patterns": [[regex, replacement]]}
  var DATA = /*CDV_FR_DATA*/ null;
  var exact = new Map(Object.entries(DATA.exact));
  var patterns = DATA.patterns.map(function (p) {
    return [new RegExp(p[0]), p[1]];
  });
  var ATTRIBUTES = ["title", "aria-label", "placeholder"];

  // The French text for `text`, keeping its surrounding white space; null when unknown.
  function translate(text) {
    if (!text) {
      return null;
    }
    var core = text.trim();
    if (!core || core.length > 1000) { // Streamlit's strings are short; a long text is the app's
      return null;
    }
    var french = exact.get(core);
    if (french === undefined) {
      // one pass, each pattern at most once, on the text as the previous ones left it
      // (« day, Période start date » → « jour, Période, début »)
      french = core;
      for (var i = 0; i < patterns.length; i++) {
        if (patterns[i][0].test(french)) {
          french = french.replace(patterns[i][0], patterns[i][1]);
        }
      }
    }
    if (french === core) {
      return null;
    }
    var start = text.indexOf(core);
    return text.slice(0, start) + french + text.slice(start + core.length);
  }

  function translateText(node) {
    var french = translate(node.nodeValue);
    if (french !== null) {
      node.nodeValue = french;
    }
  }

  function translateAttributes(element) {
    for (var i = 0; i < ATTRIBUTES.length; i++) {
      var value = element.getAttribute(ATTRIBUTES[i]);
      var french = value === null ? null : translate(value);
      if (french !== null) {
        element.setAttribute(ATTRIBUTES[i], french);
      }
    }
  }

  // A node added to the page, and everything under it.
  function translateTree(root) {
    if (root.nodeType === Node.TEXT_NODE) {
      translateText(root);
      return;
    }
    if (root.nodeType !== Node.ELEMENT_NODE) {
      return;
    }
    var tag = root.nodeName;
    if (tag === "SCRIPT" || tag === "STYLE" || tag === "TEXTAREA") {
      return;
    }
    translateAttributes(root);
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    var node;
    while ((node = walker.nextNode())) {
      if (node.nodeType === Node.TEXT_NODE) {
        var parent = node.parentNode && node.parentNode.nodeName;
        if (parent !== "SCRIPT" && parent !== "STYLE" && parent !== "TEXTAREA") {
          translateText(node);
        }
      } else {
        translateAttributes(node);
      }
    }
  }

  // What the translation costs (milliseconds spent, batches seen), and the rule itself, for tests.
  var cost = { ms: 0, batches: 0, translate: translate };
  var observer = new MutationObserver(function (records) {
    var started = performance.now();
    for (var i = 0; i < records.length; i++) {
      var record = records[i];
      if (record.type === "childList") {
        for (var j = 0; j < record.addedNodes.length; j++) {
          translateTree(record.addedNodes[j]);
        }
      } else if (record.type === "characterData") {
        translateText(record.target);
      } else if (record.type === "attributes") {
        translateAttributes(record.target);
      }
    }
    cost.ms += performance.now() - started;
    cost.batches += 1;
  });

  window.__cdvFr = cost;
  document.documentElement.lang = "fr";
  // Streamlit hands navigator.language to its widgets on every render (the date input's calendar
  // names its months and days with it): French, whatever the browser's own language.
  try {
    Object.defineProperty(navigator, "language", { value: "fr-FR", configurable: true });
    Object.defineProperty(navigator, "languages", { value: ["fr-FR", "fr"], configurable: true });
  } catch (error) {
    // a browser that refuses: the calendar follows the browser's language
  }
  translateTree(document.body);
  observer.observe(document.body, {
    childList: true,
    subtree: true,
    characterData: true,
    attributes: true,
    attributeFilter: ATTRIBUTES,
  });
})();
