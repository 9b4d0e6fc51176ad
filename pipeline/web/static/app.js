// narrativ: drag and drop onto the upload area, progress of a running job, confirmations,
// a note when the server has stopped.
(function () {
  "use strict";
  // The server stopped (Ctrl+C, the window closed, the computer restarted): say so and how to
  // start it again, instead of a page that looks busy or current forever.
  var note = null;
  function gone(yes) {
    if (!yes) { if (note) { note.remove(); note = null; } return; }
    if (note) { return; }
    note = document.createElement("div");
    note.id = "server-gone";
    note.className = "msg error";
    note.setAttribute("role", "alert");
    note.innerHTML = "<p><strong>Kontakten med narrativ bröts.</strong> Programmet som visar sidan har stängts. " +
      "Starta det igen (dubbelklicka på narrativ eller skriv <code>narrativ serve</code>) och ladda sedan om sidan. " +
      "Inget av det som redan sparats går förlorat.</p>";
    var main = document.querySelector("main");
    (main || document.body).insertBefore(note, (main || document.body).firstChild);
  }
  var ping = document.body.dataset.ping;
  if (ping && !document.getElementById("job")) {
    var misses = 0;
    setInterval(function () {
      fetch(ping, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        misses = 0; gone(false);
      }).catch(function () { misses += 1; if (misses >= 2) { gone(true); } });
    }, 5000);
  }
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("file-input");
  if (zone && input) {
    ["dragenter", "dragover"].forEach(function (e) {
      zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (e) {
      zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (ev) {
      if (ev.dataTransfer && ev.dataTransfer.files.length) {
        input.files = ev.dataTransfer.files;
        document.getElementById("upload-form").submit();
      }
    });
    input.addEventListener("change", function () {
      var names = Array.prototype.map.call(input.files, function (f) { return f.name; });
      zone.querySelector("span").textContent = names.length ? names.join(", ") : "Dra filerna hit, eller klicka för att välja";
    });
  }
  // Swedish messages for the browser's own form checks (it would speak its own language)
  document.querySelectorAll("input[data-msg], textarea[required], input[required]").forEach(function (el) {
    el.addEventListener("invalid", function () {
      el.setCustomValidity(el.value ? (el.dataset.msg || "Kontrollera det du skrivit.") : "Fyll i fältet.");
    });
    el.addEventListener("input", function () { el.setCustomValidity(""); });
  });
  // The rename box shows the whole name, however long (no cut-off label)
  document.querySelectorAll("textarea.rename-input").forEach(function (t) {
    var fit = function () { t.style.height = "auto"; t.style.height = (t.scrollHeight + 4) + "px"; };
    t.addEventListener("input", fit);
    window.addEventListener("resize", fit);
    fit();
  });
  // A destructive action names its target and asks first; a theme chosen by search must exist
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      var choose = f.querySelector("input.choose-theme");
      var question = f.dataset.confirm;
      if (choose) {
        var name = choose.value.trim();
        var known = Array.prototype.some.call(document.querySelectorAll("#theme-choices option"),
          function (o) { return o.value === name; });
        if (!known) {
          ev.preventDefault();
          choose.setCustomValidity(name ? "Det finns inget tema med det namnet: välj ett i listan." :
                                          "Skriv några bokstäver av temats namn och välj i listan.");
          choose.reportValidity();
          choose.addEventListener("input", function () { choose.setCustomValidity(""); }, {once: true});
          return;
        }
        question = question + " '" + name + "'?";
      }
      if (!window.confirm(question)) ev.preventDefault();
    });
  });
  var job = document.getElementById("job");
  if (job) {
    var bar = job.querySelector(".job-bar"), what = job.querySelector(".job-what");
    var failures = 0;
    var poll = function () {
      fetch(job.dataset.url, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        return r.json();
      }).then(function (s) {
        failures = 0;
        gone(false);
        if (!s.running) { window.location.reload(); return; }
        what.textContent = s.what;
        if (s.total) { bar.max = s.total; bar.value = s.done; } else { bar.removeAttribute("value"); }
        setTimeout(poll, 1000);
      }).catch(function () { failures += 1; if (failures >= 2) { gone(true); } setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }
})();
