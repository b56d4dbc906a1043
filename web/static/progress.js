// Follows one job on its page: polls GET /v1/jobs/<id> (the session cookie signs it in) once
// a second and shows N of M, each failure with its message, and about how long is left; once
// the job has finished, its downloads. Leaving and coming back shows the same job.
(function () {
  "use strict";
  const section = document.getElementById("job");
  const words = JSON.parse(section.dataset.words);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, name) => values[name]);
  const started = { at: Date.now(), done: null };
  const DATA_CODES = JSON.parse(section.dataset.dataCodes);

  function show(job) {
    const done = job.progress.succeeded + job.progress.failed;
    const bar = document.getElementById("bar");
    bar.max = job.progress.total;
    bar.value = done;
    document.getElementById("count").textContent = fill(words.done, { done: done, total: job.progress.total })
      + (job.progress.failed ? " · " + fill(words.failed, { count: job.progress.failed }) : "");
    if (started.done === null) { started.done = done; started.at = Date.now(); }
    const left = document.getElementById("left");
    const rate = (done - started.done) / ((Date.now() - started.at) / 1000);
    if (job.finished_at) {
      left.textContent = words.finished;
    } else if (rate > 0) {
      left.textContent = fill(words.left, { seconds: Math.ceil((job.progress.total - done) / rate) });
    }
    // Failures, Retry and Cancel only where they mean something: once the job has finished,
    // failures that come from the data are fixed by correcting their rows, the service's
    // are retried; Cancel while documents may still be waiting.
    const failed = job.documents.filter((d) => d.status === "failed");
    const fromData = failed.filter((d) => d.error && DATA_CODES.includes(d.error.code));
    document.getElementById("failures-heading").hidden = !job.progress.failed;
    document.getElementById("fix").hidden = !(job.finished_at && fromData.length);
    document.getElementById("retry").hidden = !(job.finished_at && failed.length > fromData.length);
    document.getElementById("cancel").hidden = Boolean(job.finished_at);
    const failures = document.getElementById("failures");
    failures.hidden = !job.progress.failed;
    failures.replaceChildren(...job.documents.filter((d) => d.status === "failed").map((d) => {
      const item = document.createElement("li");
      item.textContent = d.name + ": " + (d.error ? d.error.message : "");
      return item;
    }));
    if (job.finished_at) {
      const list = document.getElementById("documents");
      list.replaceChildren(...job.documents.filter((d) => d.url).map((d) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = d.url;
        link.textContent = d.name;
        item.append(link);
        return item;
      }));
      document.getElementById("results").hidden = false;
    }
  }

  async function poll() {
    try {
      const answer = await fetch("/v1/jobs/" + section.dataset.job, {
        headers: { "Accept-Language": section.dataset.language },
        credentials: "same-origin",
      });
      if (answer.ok) {
        const job = await answer.json();
        show(job);
        if (job.finished_at) return;
      }
    } catch (error) {
      // the network blinked: try again on the next tick
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
