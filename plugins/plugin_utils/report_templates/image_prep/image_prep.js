/* mecm.fieldkit image-prep dashboard: select a host or cell to show its details; chips filter the rows.
   Inlined into the page by _image_prep_dashboard.py; no external script, no network. */
(function () {
  'use strict';
  var panel = document.querySelector('[data-testid="host-detail"]');
  var hint = document.querySelector('[data-testid="detail-hint"]');
  if (!panel) { return; }

  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }

  function close() {
    each('.detail', function (d) { d.hidden = true; });
    each('.row.selected', function (r) { r.classList.remove('selected'); });
    each('.cell.selected', function (c) { c.classList.remove('selected'); });
    panel.classList.remove('open');
    if (hint) { hint.hidden = false; }
  }

  function show(host, step) {
    close();
    var detail = null;
    each('.detail', function (d) { if (d.getAttribute('data-detail') === host) { detail = d; } });
    if (!detail) { return; }
    detail.hidden = false;
    if (hint) { hint.hidden = true; }
    panel.classList.add('open');
    each('.row', function (r) { if (r.getAttribute('data-row') === host) { r.classList.add('selected'); } });
    each('.cell', function (c) {
      if (c.getAttribute('data-host') === host && c.getAttribute('data-step') === step) { c.classList.add('selected'); }
    });
    Array.prototype.forEach.call(detail.querySelectorAll('[data-step-row]'), function (row) {
      row.classList.toggle('focus', row.getAttribute('data-step-row') === step);
      // Scroll inside the panel only: scrollIntoView would move the page and hide the grid.
      if (row.getAttribute('data-step-row') === step) { panel.scrollTop += row.getBoundingClientRect().top - panel.getBoundingClientRect().top - panel.clientHeight / 3; }
    });
    if (window.matchMedia('(max-width: 1000px)').matches) { panel.scrollIntoView({ block: 'start' }); }
  }

  function filter(key, chip) {
    var on = chip.getAttribute('aria-pressed') !== 'true' && key !== 'hosts';
    each('.chip', function (c) { c.setAttribute('aria-pressed', 'false'); });
    if (on) { chip.setAttribute('aria-pressed', 'true'); }
    each('.row', function (r) {
      var tags = (r.getAttribute('data-tags') || '').split(' ');
      r.hidden = on && tags.indexOf(key) < 0;
    });
  }

  document.addEventListener('click', function (event) {
    var target = event.target.closest ? event.target.closest('[data-host], [data-close], [data-filter]') : null;
    if (!target) { return; }
    if (target.hasAttribute('data-close')) { close(); return; }
    if (target.hasAttribute('data-filter')) { filter(target.getAttribute('data-filter'), target); return; }
    show(target.getAttribute('data-host'), target.getAttribute('data-step'));
  });
  document.addEventListener('keydown', function (event) { if (event.key === 'Escape') { close(); } });
}());
