/* The ISNCSCI worksheet: fast keyboard entry and live classification.
 *
 * Keys (also listed on the page and in docs/worksheet.md):
 *   a complete value (0-5 motor, 0-2 sensory, NT) moves to the next cell;
 *   "*" typed in the cell just reached adds a flag to the cell just filled (3 -> 3* -> 3**);
 *   Ctrl+D (Cmd+D) fills the column down from the current cell (or, when it is empty, from the
 *   cell above) and moves to the next column; Enter / ArrowDown next cell, ArrowUp previous.
 * A cell refuses what the grammar cannot become (motor 0-5, sensory 0-2, NT, then * or **):
 * typing 7 in a motor cell, or X anywhere, leaves the cell at its last valid value.
 * Focus starts on the first cell (or the first cell the server marked invalid).
 * The classification comes from the server (POST data-classify-url, an HTML fragment), computed
 * by the same engine that classifies stored exams; requests are debounced and stale answers
 * dropped.
 */
(function () {
  "use strict";

  var COMPLETE = { motor: /^(?:[0-5]|NT)$/, lt: /^(?:[0-2]|NT)$/, pp: /^(?:[0-2]|NT)$/ };
  var ALLOWED = { motor: /^(?:[0-5]|NT)\*{0,2}$/, lt: /^(?:[0-2]|NT)\*{0,2}$/, pp: /^(?:[0-2]|NT)\*{0,2}$/ };
  // what a cell may hold while it is being typed: empty, "N" on the way to NT, or a value
  var TYPING = { motor: /^(?:N?|(?:[0-5]|NT)\*{0,2})$/, lt: /^(?:N?|(?:[0-2]|NT)\*{0,2})$/,
                 pp: /^(?:N?|(?:[0-2]|NT)\*{0,2})$/ };

  function init(root) {
    var form = root.closest("form");
    var url = root.getAttribute("data-classify-url");
    var readonly = root.hasAttribute("data-readonly");
    var cells = Array.prototype.slice.call(root.querySelectorAll(".ws-cell"));
    var panel = root.querySelector("#ws-classification");
    var inlineError = root.querySelector("#ws-active-error");
    var reasonList = root.querySelector("#ws-reason-list");
    var noFlags = root.querySelector("#ws-no-flags");
    var reasonCache = {};
    var justLeft = null; // the cell we auto-advanced from (for the "*" key)
    var arrived = null; // the cell that auto-advance moved to
    var timer = null;
    var sequence = 0;

    function next(cell) {
      var i = cells.indexOf(cell);
      return i >= 0 && i + 1 < cells.length ? cells[i + 1] : null;
    }
    function previous(cell) {
      var i = cells.indexOf(cell);
      return i > 0 ? cells[i - 1] : null;
    }
    function go(cell) {
      if (!cell) {
        var vac = root.querySelector("#cell-vac");
        if (vac) vac.focus();
        return;
      }
      cell.focus();
      cell.select();
      arrived = cell;
    }
    function columnOf(cell) {
      var key = cell.getAttribute("data-column");
      return cells.filter(function (c) { return c.getAttribute("data-column") === key; });
    }

    function normalize(cell) {
      // "#" is NT: a tablet's telephone pad (inputmode="tel") has digits, * and #, no letters
      var v = cell.value.toUpperCase().replace(/\s+/g, "").replace(/#/g, "NT");
      if (v !== cell.value) cell.value = v;
      return v;
    }

    function syncReasons() {
      if (!reasonList) return;
      var existing = {};
      Array.prototype.forEach.call(reasonList.querySelectorAll("[data-reason-for]"), function (el) {
        var input = el.querySelector("input");
        existing[el.getAttribute("data-reason-for")] = el;
        reasonCache[el.getAttribute("data-reason-for")] = input.value;
      });
      var flagged = [];
      cells.concat([]).forEach(function (cell) {
        if (/\*$/.test(cell.value) && ALLOWED[cell.getAttribute("data-kind")].test(cell.value)) {
          flagged.push(cell);
        }
      });
      var keep = {};
      flagged.forEach(function (cell) {
        var name = cell.name;
        keep[name] = true;
        var el = existing[name];
        if (!el) {
          el = document.createElement("label");
          el.className = "ws-reason";
          el.setAttribute("data-reason-for", name);
          el.appendChild(document.createTextNode(cell.getAttribute("aria-label") + " = "));
          var code = document.createElement("code");
          el.appendChild(code);
          var input = document.createElement("input");
          input.type = "text";
          input.name = "reason_" + name;
          input.maxLength = 500;
          input.value = reasonCache[name] || "";
          el.appendChild(input);
          reasonList.appendChild(el);
        }
        el.querySelector("code").textContent = cell.value;
      });
      Object.keys(existing).forEach(function (name) {
        if (!keep[name]) existing[name].remove();
      });
      if (noFlags) noFlags.hidden = flagged.length > 0;
    }

    function markErrors() {
      var errors = {};
      Array.prototype.forEach.call(panel.querySelectorAll("[data-error-field]"), function (li) {
        errors[li.getAttribute("data-error-field")] = li.textContent.trim();
      });
      root.querySelectorAll(".ws-cell, .ws-select").forEach(function (input) {
        var message = errors[input.name];
        if (message) {
          input.setAttribute("aria-invalid", "true");
          input.title = message;
        } else {
          input.removeAttribute("aria-invalid");
          input.removeAttribute("title");
        }
      });
      showInlineError(document.activeElement);
      root.querySelectorAll("[data-quick]").forEach(function (out) {
        var source = panel.querySelector('[data-result="' + out.getAttribute("data-quick") + '"]');
        out.textContent = source ? source.textContent : "\u2014";
      });
      root.querySelectorAll("[data-total]").forEach(function (out) {
        var source = panel.querySelector('[data-result="' + out.getAttribute("data-total") + '"]');
        out.textContent = source ? source.textContent : "";
      });
    }

    function showInlineError(target) {
      if (!inlineError) return;
      var invalid = target && target.getAttribute && target.getAttribute("aria-invalid") === "true"
        ? target : root.querySelector('.ws-cell[aria-invalid="true"]');
      if (invalid) {
        inlineError.textContent = invalid.title;
        inlineError.hidden = false;
      } else {
        inlineError.textContent = "";
        inlineError.hidden = true;
      }
    }

    function classify() {
      var mine = ++sequence;
      root.setAttribute("aria-busy", "true");
      fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (mine !== sequence) return;
          panel.innerHTML = html;
          markErrors();
          root.removeAttribute("aria-busy");
        })
        .catch(function () {
          if (mine !== sequence) return;
          panel.innerHTML = '<p class="ws-errors" role="alert">The classification could not be reached; your values are kept on this page.</p>';
          root.removeAttribute("aria-busy");
        });
    }
    function schedule() {
      syncReasons();
      clearTimeout(timer);
      timer = setTimeout(classify, 200);
    }

    function fillDown(cell) {
      var column = columnOf(cell);
      var i = column.indexOf(cell);
      var value = cell.value || (i > 0 ? column[i - 1].value : "");
      if (!value) return;
      for (var k = i; k < column.length; k++) {
        column[k].value = value;
        if (lastValid) lastValid.set(column[k], value);
      }
      var last = column[column.length - 1];
      justLeft = null;
      go(next(last));
      schedule();
    }

    if (readonly) return;

    var lastValid = new Map();
    cells.forEach(function (cell) {
      // a value stored before (or rejected by the server) stays as it is until it is retyped
      lastValid.set(cell, cell.value);
    });
    var first = root.querySelector('.ws-cell[aria-invalid="true"]') || cells[0];
    if (first) {
      first.focus();
      first.select();
    }

    cells.forEach(function (cell) {
      cell.addEventListener("mousedown", function () { justLeft = null; arrived = null; });
      cell.addEventListener("focus", function () {
        cell.select();
        showInlineError(cell);
      });
      cell.addEventListener("keydown", function (event) {
        var key = event.key;
        if ((event.ctrlKey || event.metaKey) && (key === "d" || key === "D")) {
          event.preventDefault();
          fillDown(cell);
          return;
        }
        var untouched = cell.value === "" ||
          (cell.selectionStart === 0 && cell.selectionEnd === cell.value.length);
        if (key === "*" && justLeft && arrived === cell && untouched) {
          // a flag for the value just typed in the cell before
          event.preventDefault();
          if (!/\*\*$/.test(justLeft.value)) justLeft.value += "*";
          lastValid.set(justLeft, justLeft.value);
          schedule();
          return;
        }
        if (key === "Enter" || key === "ArrowDown") {
          event.preventDefault();
          justLeft = null;
          go(next(cell));
          return;
        }
        if (key === "ArrowUp") {
          event.preventDefault();
          justLeft = null;
          go(previous(cell));
          return;
        }
        if (key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
          justLeft = null;
        }
      });
      cell.addEventListener("input", function () {
        var value = normalize(cell);
        var kind = cell.getAttribute("data-kind");
        if (!TYPING[kind].test(value)) {
          // refused: the keystroke (or paste) cannot become a value of this cell
          cell.value = lastValid.get(cell);
          cell.select();
          return;
        }
        lastValid.set(cell, value);
        schedule();
        if (COMPLETE[kind].test(value)) {
          var following = next(cell);
          justLeft = cell;
          go(following);
        }
      });
    });
    root.querySelectorAll(".ws-select").forEach(function (select) {
      select.addEventListener("change", schedule);
    });
    form.addEventListener("reset", function () {
      setTimeout(function () {
        cells.forEach(function (cell) { lastValid.set(cell, cell.value); });
        schedule();
      }, 0);
    });
  }

  function start() {
    document.querySelectorAll("[data-worksheet]").forEach(init);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
