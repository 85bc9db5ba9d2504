// Passkeys: the account page's "Add a passkey" form and the login's "Use
// your passkey" button. The hub's options go to the browser's WebAuthn API
// as JSON (PublicKeyCredential.parse*OptionsFromJSON) and the browser's
// answer comes back as JSON (credential.toJSON()); the hub checks it.
(function () {
  "use strict";
  var T = window.tierline;

  function supported() {
    return !!(window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON && PublicKeyCredential.parseRequestOptionsFromJSON);
  }

  function show(el, msg) {
    if (!el) { T.toast(msg, true); return; }
    el.textContent = msg;
    el.hidden = false;
  }

  // browserError says in words why the browser gave no passkey.
  function browserError(e) {
    if (e && e.name === "NotAllowedError") { return "The passkey was not used (cancelled or timed out). Try again."; }
    if (e && e.name === "InvalidStateError") { return "This passkey is registered already."; }
    return (e && e.message) || String(e);
  }

  function add(form) {
    var err = form.querySelector(".error");
    var btn = form.querySelector("button[type=submit]");
    var name = form.querySelector("input[name=name]").value.trim();
    if (err) { err.hidden = true; }
    if (!supported()) { show(err, "This browser cannot make passkeys; use a current Chrome, Edge, Firefox or Safari."); return; }
    btn.disabled = true;
    T.api("POST", "/account/passkeys/options").then(function (opts) {
      return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey) })
        .catch(function (e) { throw new Error(browserError(e)); });
    }).then(function (cred) {
      return T.api("POST", "/account/passkeys?name=" + encodeURIComponent(name), cred.toJSON());
    }).then(function () {
      window.location.reload();
    }).catch(function (e) {
      btn.disabled = false;
      show(err, e.message);
    });
  }

  function login(btn) {
    var err = document.getElementById("passkey-error");
    if (err) { err.hidden = true; }
    if (!supported()) { show(err, "This browser cannot use passkeys; type a code instead."); return; }
    btn.disabled = true;
    T.api("POST", "/login/passkey/options").then(function (opts) {
      return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts.publicKey) })
        .catch(function (e) { throw new Error(browserError(e)); });
    }).then(function (cred) {
      return T.api("POST", "/login/passkey", cred.toJSON());
    }).then(function (res) {
      window.location.assign(res.next || "/queue");
    }).catch(function (e) {
      btn.disabled = false;
      show(err, e.message);
      if (e.status === 401 && /Log in again/.test(e.message)) { window.setTimeout(function () { window.location.assign("/login"); }, 3000); }
    });
  }

  document.addEventListener("submit", function (ev) {
    if (ev.target.matches && ev.target.matches("form[data-passkey-add]")) {
      ev.preventDefault();
      add(ev.target);
    }
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-passkey-login]") : null;
    if (b) { login(b); }
  });
}());
