/* Progressive enhancement only: every page works without this file.
   - Upload forms ([data-upload]) send with XMLHttpRequest to show progress, check the size first,
     then show the server's answer exactly as a normal form post would.
   - A message marked [data-focus] (error summary, notification) gets focus on page load. */
(function () {
  "use strict";
  function focusMessage() {
    var message = document.querySelector("[data-focus]");
    if (message) { message.focus(); }
  }
  function enhanceUpload(form) {
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    var box = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var text = form.querySelector("[data-progress-text]");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      var file = input && input.files && input.files[0];
      if (!file) { return; }  /* let the browser's own validation or the server explain */
      if (maxBytes && file.size > maxBytes) {
        event.preventDefault();
        text.textContent = "The file is larger than " + Math.floor(maxBytes / 1048576) + " MB, the limit for an upload.";
        box.hidden = false; bar.hidden = true;
        return;
      }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round(100 * e.loaded / e.total);
          bar.value = pct; bar.textContent = pct + "%";
          text.textContent = pct < 100 ? "Uploading: " + pct + "%" : "Uploaded. Checking your return...";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.responseURL && xhr.responseURL.split("#")[0] !== form.action) {
          window.location.assign(xhr.responseURL);
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      });
      xhr.addEventListener("error", function () {
        text.textContent = "The upload failed. Check your connection and try again.";
        button.disabled = false;
      });
      box.hidden = false; bar.hidden = false; bar.value = 0;
      text.textContent = "Uploading...";
      button.disabled = true;
      xhr.send(new FormData(form));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    focusMessage();
    var forms = document.querySelectorAll("form[data-upload]");
    for (var i = 0; i < forms.length; i++) { enhanceUpload(forms[i]); }
  });
})();
