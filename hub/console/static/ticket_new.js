// New ticket: files the form through POST /api/v1/tickets and opens the
// ticket. For an online device the hub runs its checks first, which can
// take a few seconds: the page says so while it waits.
(function () {
  "use strict";
  var T = window.tierline;

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("new-ticket");
    if (!form) { return; }
    var errBox = document.getElementById("new-ticket-error");
    var progress = document.getElementById("new-ticket-progress");
    var button = document.getElementById("new-ticket-file");
    // One id per form: a second click or a retry after a lost answer files
    // the same ticket, not two.
    var requestID = Array.prototype.map.call(window.crypto.getRandomValues(new Uint8Array(16)), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      errBox.hidden = true;
      var device = form.getAttribute("data-device") || "";
      var data = {
        requester: form.elements.requester.value.trim(),
        text: form.elements.text.value,
        channel: form.elements.channel.value,
        type: form.elements.type.value,
        category: form.elements.category.value,
        impact: parseInt(form.elements.impact.value, 10),
        urgency: parseInt(form.elements.urgency.value, 10),
        request_id: requestID
      };
      if (device) { data.device = device; }
      button.disabled = true;
      progress.textContent = device ? "Filing the ticket and running the computer's health checks… this can take up to 20 seconds." : "Filing the ticket…";
      progress.hidden = false;
      T.api("POST", "/api/v1/tickets", data).then(function (res) {
        window.location.href = "/tickets/" + encodeURIComponent(res.ticket.id);
      }).catch(function (e) {
        progress.hidden = true;
        errBox.textContent = e.message;
        errBox.hidden = false;
        button.disabled = false;
      });
    });
  });
})();
