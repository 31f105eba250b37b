/* Esep: the little behaviour the pages need beyond htmx. Every page works without it
   (forms submit, links navigate); this adds the menu toggle, keyboard shortcuts and the
   entry editor's add/remove line. */
(function () {
  "use strict";

  function isTyping(el) {
    return el && (el.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName));
  }

  // Menu on narrow screens.
  document.addEventListener("click", function (ev) {
    var toggle = ev.target.closest(".nav-toggle");
    if (toggle) {
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  // Selects that submit their form on change (institution switcher, year pickers).
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  // Irreversible actions ask first.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
    }
  }, true);

  // "/" jumps to the search box; Escape leaves it.
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && !isTyping(document.activeElement) && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      var box = document.getElementById("topsearch");
      if (box) { ev.preventDefault(); box.focus(); box.select(); }
    }
  });

  // A session that expired answers an htmx request with the login page: go there instead
  // of swapping it into a fragment.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var xhr = ev.detail.xhr;
    var url = xhr && xhr.responseURL ? new URL(xhr.responseURL) : null;
    if (url && url.pathname === document.body.getAttribute("data-login-url")) {
      ev.detail.shouldSwap = false;
      window.location.assign(url.pathname + "?next=" + encodeURIComponent(window.location.pathname + window.location.search));
    }
  });

  // ---- entry editor ---------------------------------------------------------------------
  function linesBody(form) { return form.querySelector("#lines-body"); }

  function nextIndex(body) {
    var max = -1;
    body.querySelectorAll("tr.line").forEach(function (tr) {
      var n = parseInt(tr.getAttribute("data-n"), 10);
      if (!isNaN(n) && n > max) { max = n; }
    });
    return max + 1;
  }

  function changed(form) {
    if (window.htmx) { window.htmx.trigger(form, "linesChanged"); }
  }

  function addLine(form, after) {
    var body = linesBody(form);
    var tpl = document.getElementById("line-template");
    if (!body || !tpl) { return null; }
    var n = nextIndex(body);
    var html = tpl.innerHTML.replace(/__n__/g, String(n));
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.querySelector("tr");
    // Alternate the side: a new line usually answers the one before it.
    var prev = after || body.querySelector("tr.line:last-child");
    if (prev) {
      var prevSide = prev.querySelector("select[name$='-side']");
      var side = row.querySelector("select[name$='-side']");
      if (prevSide && side) { side.value = prevSide.value === "D" ? "C" : "D"; }
    }
    if (after && after.nextSibling) { body.insertBefore(row, after.nextSibling); } else { body.appendChild(row); }
    if (window.htmx) { window.htmx.process(row); }
    changed(form);
    return row;
  }

  document.addEventListener("click", function (ev) {
    var add = ev.target.closest("[data-add-line]");
    if (add && add.form) {
      var row = addLine(add.form, null);
      if (row) { row.querySelector("input").focus(); }
      return;
    }
    var remove = ev.target.closest("[data-remove-line]");
    if (remove && remove.form) {
      var form = remove.form; // a detached button has no form
      var tr = remove.closest("tr.line");
      var body = linesBody(form);
      if (tr && body && body.querySelectorAll("tr.line").length > 1) {
        var focusTo = tr.nextElementSibling || tr.previousElementSibling;
        tr.remove();
        changed(form);
        if (focusTo) { focusTo.querySelector("input").focus(); }
      }
    }
  });

  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    var form = el.form;
    if (!form || form.id !== "entry-form") { return; }
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit ? form.requestSubmit(form.querySelector("[data-submit]")) : form.submit();
      return;
    }
    if (ev.key !== "Enter" || el.tagName === "TEXTAREA" || el.tagName === "BUTTON") { return; }
    ev.preventDefault(); // Enter never posts half an entry
    var tr = el.closest("tr.line");
    if (!tr) { return; }
    var next = tr.nextElementSibling;
    var added = false;
    if (!next) { next = addLine(form, tr); added = true; }
    if (next) {
      var field = el.name.replace(/^line-\d+-/, "");
      var target = next.querySelector("[name$='-" + field + "']") || next.querySelector("input");
      if (added || field === "description" || field === "counterparty") {
        target = next.querySelector("input[name$='-account']");
      }
      target.focus();
      if (target.select) { target.select(); }
    }
  });
})();
