// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Job progress: poll the job's JSON and move the bar (see templates/core/job.html).
  document.querySelectorAll(".job-progress").forEach(function (box) {
    var bar = box.querySelector(".job-bar");
    var percent = box.querySelector(".job-percent");
    var status = box.querySelector(".job-status");
    function tick() {
      fetch(box.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          bar.value = job.progress;
          status.firstChild.textContent = (box.dataset["label" + job.status.charAt(0).toUpperCase() + job.status.slice(1)] || job.status) + " ";
          percent.textContent = job.progress;
          if (job.status !== "finished" && job.status !== "failed") { setTimeout(tick, 1000); }
          else if (box.dataset.status !== job.status) { window.location.reload(); }  // show the result
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  });
  // A form that came back with errors: bring its summary into view and focus.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // A long form on a phone, one step at a time: the steps are parts of the one form, so
  // everything typed is sent together; a form back with an error opens at its step.
  document.querySelectorAll("form[data-steps]").forEach(function (form) {
    if (window.matchMedia("(min-width: 768px)").matches) { return; }
    var steps = Array.prototype.slice.call(form.querySelectorAll(".form-step"));
    var submit = form.querySelector("[type=submit]");
    if (steps.length < 2 || !submit) { return; }
    function button(label, css) {
      var b = document.createElement("button");
      b.type = "button"; b.className = css; b.textContent = label;
      return b;
    }
    var back = button(form.dataset.backLabel, "btn btn-outline-secondary btn-lg step-back");
    var next = button(form.dataset.nextLabel, "btn btn-primary btn-lg step-next");
    var nav = document.createElement("div");
    nav.className = "d-flex flex-wrap gap-2 mb-3 step-nav";
    nav.appendChild(back); nav.appendChild(next);
    var counter = document.createElement("p");
    counter.className = "small text-muted step-count";
    form.insertBefore(counter, steps[0]);
    steps[steps.length - 1].parentNode.insertBefore(nav, steps[steps.length - 1].nextSibling);
    var current = 0;
    var invalid = form.querySelector(".is-invalid, .invalid-feedback.d-block");
    steps.forEach(function (step, i) { if (invalid && step.contains(invalid)) { current = i; } });
    function show(i, scroll) {
      current = i;
      steps.forEach(function (step, j) { step.hidden = j !== i; });
      back.hidden = i === 0;
      next.hidden = i === steps.length - 1;
      submit.hidden = i !== steps.length - 1;
      counter.textContent = form.dataset.stepLabel.replace("{n}", i + 1).replace("{m}", steps.length);
      if (scroll) { counter.scrollIntoView(); }
    }
    // Enter in a field of an earlier step goes on to the next step, not to the server.
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.tagName !== "TEXTAREA" &&
          current < steps.length - 1) {
        event.preventDefault();
        show(current + 1, true);
      }
    });
    back.addEventListener("click", function () { show(current - 1, true); });
    next.addEventListener("click", function () { show(current + 1, true); });
    show(current, false);
  });
  // "Send code" after a code was sent: it counts down to when another may be asked for.
  document.querySelectorAll("[data-countdown]").forEach(function (button) {
    var left = parseInt(button.dataset.countdown, 10) || 0;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.value = button.dataset.againLabel;
        return;
      }
      button.disabled = true;
      button.value = button.dataset.waitLabel.replace("{n}", left);
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  });
  // A call-out's coordinator page: poll its small JSON answer and update the counts, the
  // skills of those coming and the answers (new ones appended), without reloading.
  document.querySelectorAll("#live[data-live-url]").forEach(function (box) {
    var url = box.getAttribute("data-live-url");
    function cell(row, text, label) {
      var td = document.createElement("td");
      td.textContent = text;
      if (label) { td.setAttribute("data-label", label); }
      row.appendChild(td);
    }
    function apply(data) {
      document.querySelectorAll("[data-live]").forEach(function (el) {
        var key = el.getAttribute("data-live");
        if (data[key] !== undefined) { el.textContent = data[key]; }
      });
      var bar = document.getElementById("live-progress");
      if (bar) { bar.value = data.accepted; bar.textContent = data.accepted; }
      Object.keys(data.skills_covered || {}).forEach(function (skill) {
        var el = box.querySelector('[data-live-skill="' + skill + '"]');
        if (el) { el.textContent = data.skills_covered[skill]; }
      });
      var body = box.querySelector("#responses tbody");
      if (!body) { return; }
      var labels = Array.prototype.map.call(box.querySelectorAll("#responses thead th"),
                                            function (th) { return th.textContent; });
      (data.responses || []).forEach(function (r) {
        var row = document.getElementById("response-" + r.id);
        if (row) {
          if (row.getAttribute("data-status") !== r.status) {
            row.cells[2].textContent = r.status_title;
            row.cells[3].textContent = r.eta_title;
            row.setAttribute("data-status", r.status);
          }
          return;
        }
        var empty = body.querySelector(".no-answer");
        if (empty) { empty.remove(); }
        row = document.createElement("tr");
        row.id = "response-" + r.id;
        row.setAttribute("data-status", r.status);
        cell(row, r.name, labels[0]);
        cell(row, "", labels[1]);
        if (r.phone) {
          var call = document.createElement("a");
          call.href = "tel:" + r.phone;
          call.textContent = r.phone;
          row.cells[1].appendChild(call);
        }
        cell(row, r.status_title, labels[2]);
        cell(row, r.eta_title, labels[3]);
        cell(row, "", labels[4]);
        body.appendChild(row);
      });
    }
    function tick() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { apply(data); } setTimeout(tick, 4000); })
        .catch(function () { setTimeout(tick, 8000); });
    }
    setTimeout(tick, 4000);
  });

  // Print buttons (a roster on paper for the check-in desk).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
