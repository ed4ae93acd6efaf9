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
  // Print buttons (a roster on paper for the check-in desk).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
