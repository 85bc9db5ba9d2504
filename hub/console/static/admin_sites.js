// Sites (admin): a user's sites and a device's site, saved through the API
// (POST /api/v1/users/{id}/sites, POST /api/v1/devices/{id}/site), which
// checks and audits each change and says what is wrong.
(function () {
  "use strict";
  var T = window.tierline;

  document.addEventListener("DOMContentLoaded", function () {
    var errBox = document.getElementById("sites-error");
    if (!errBox) { return; }
    function fail(e) {
      errBox.textContent = e.message;
      errBox.hidden = false;
    }
    function save(btn, path, body, done) {
      errBox.hidden = true;
      btn.disabled = true;
      T.api("POST", path, body).then(function (res) {
        btn.disabled = false;
        done(res);
      }).catch(function (e) {
        btn.disabled = false;
        fail(e);
      });
    }
    document.querySelectorAll(".user-sites-save").forEach(function (b) {
      b.addEventListener("click", function () {
        var id = b.getAttribute("data-id");
        var input = document.querySelector('.user-sites[data-id="' + id + '"]');
        var sites = input.value.split(",").map(function (s) { return s.trim(); }).filter(function (s) { return s !== ""; });
        save(b, "/api/v1/users/" + encodeURIComponent(id) + "/sites", { sites: sites }, function (res) {
          input.value = (res.sites || []).join(",");
          T.toast("Saved: " + res.name + " works " + (res.sites && res.sites.length ? res.sites.join(", ") : "every site"));
        });
      });
    });
    document.querySelectorAll(".device-site-save").forEach(function (b) {
      b.addEventListener("click", function () {
        var id = b.getAttribute("data-id");
        var input = document.querySelector('.device-site[data-id="' + id + '"]');
        save(b, "/api/v1/devices/" + encodeURIComponent(id) + "/site", { site: input.value.trim() }, function (res) {
          input.value = res.site;
          T.toast("Moved from " + res.was + " to " + res.site);
        });
      });
    });
  });
})();
