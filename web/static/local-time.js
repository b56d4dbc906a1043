// Every <time class="local"> the server wrote in UTC ("2026-12-03 04:41 UTC"), shown in the
// reader's own time zone and named ("2026/12/03 12:41 [GMT+8]"), in the page's language.
(function () {
  "use strict";
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
  });
  for (const element of document.querySelectorAll("time.local")) {
    const moment = new Date(element.dateTime);
    if (!Number.isNaN(moment.getTime())) {
      element.title = element.textContent;
      element.textContent = format.format(moment);
    }
  }
})();
