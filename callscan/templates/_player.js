(function () {
  "use strict";
  // Clicking a transcript line (or its time button) plays the call from there.
  var player = document.getElementById("player");
  if (!player) { return; }
  var lines = Array.prototype.slice.call(document.querySelectorAll(".transcript .line"));

  function seek(seconds, play) {
    if (isNaN(seconds)) { return; }
    var go = function () {
      player.currentTime = seconds;
      if (play) {
        var started = player.play();
        if (started && started.catch) { started.catch(function () {}); }
      }
    };
    if (player.readyState > 0) { go(); } else { player.addEventListener("loadedmetadata", go, { once: true }); player.load(); }
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-start]");
    if (!target || event.target.closest("a, audio")) { return; }
    // Selecting words to copy a quote should not restart the audio.
    if (!event.target.closest("button") && String(window.getSelection() || "").length > 0) { return; }
    seek(parseFloat(target.getAttribute("data-start")), true);
  });

  var current = null;
  player.addEventListener("timeupdate", function () {
    var t = player.currentTime, found = null;
    for (var i = 0; i < lines.length; i++) {
      if (parseFloat(lines[i].getAttribute("data-start")) <= t + 0.05) { found = lines[i]; } else { break; }
    }
    if (found === current) { return; }
    if (current) { current.classList.remove("playing"); current.removeAttribute("aria-current"); }
    if (found) { found.classList.add("playing"); found.setAttribute("aria-current", "true"); }
    current = found;
  });

  // Links from the briefing end in #seg-N: cue the player at that line, ready to press play.
  function fromHash() {
    var line = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    if (line && line.hasAttribute("data-start")) { seek(parseFloat(line.getAttribute("data-start")), false); }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
