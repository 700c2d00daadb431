/* The REST embedded flow's returnUrl runs in the frame: it takes the whole window to /user/info. */
(function () {
  'use strict';
  var link = document.getElementById('continue');
  if (link && window.top !== window) window.top.location.assign(link.getAttribute('href'));
})();
