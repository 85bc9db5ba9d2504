// Device page: the latest sample and the online state follow the device
// live (server-sent telemetry notices); the charts are drawn by the hub
// and redraw on reload or when another range is picked.
(function () {
  "use strict";
  var T = window.tierline;
  function pct(v) { return (typeof v === "number" ? Math.round(v) : "?") + "%"; }
  document.addEventListener("DOMContentLoaded", function () {
    var latest = document.getElementById("device-latest");
    if (!latest || !T) { return; }
    var device = latest.getAttribute("data-device");
    T.events(function (n) {
      if (n.kind !== "telemetry" || n.device !== device) { return; }
      var s = n.telemetry || {};
      var at = n.time ? new Date(n.time) : new Date();
      latest.textContent = "Latest sample at " + T.utcTime(at) + ": CPU " + pct(s.cpu_pct) + ", memory " + pct(s.mem_pct) +
        ", fullest disk " + pct(s.disk_pct) + ", load " + (typeof s.load1 === "number" ? s.load1.toFixed(2) : "?") + ".";
      var badge = document.getElementById("device-online");
      if (badge && n.state) {
        badge.textContent = n.state;
        badge.classList.toggle("pass", n.state === "online");
      }
    }, device);
  });
})();
