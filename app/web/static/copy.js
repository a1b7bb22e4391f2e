// Progressive enhancement for /subscribe: a "Copy" button beside each feed address.
// Without JavaScript the address is still there to select and copy by hand.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (!navigator.clipboard) {
    return;
  }
  var status = document.getElementById("copy-status");
  document.querySelectorAll("input[data-copy]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy address";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(
        function () {
          button.textContent = "Copied";
          if (status) {
            status.textContent = "Address copied: " + input.value;
          }
        },
        function () {
          input.select();
          if (status) {
            status.textContent = "Copying is not allowed here; the address is selected, copy it by hand.";
          }
        }
      );
    });
    input.insertAdjacentElement("afterend", button);
  });
});
