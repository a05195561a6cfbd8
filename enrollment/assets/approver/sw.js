// The approver's service worker: it turns a push message into a
// notification and opens the app when the user taps it.
'use strict';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let p = null;
  try {
    p = event.data ? event.data.json() : null;
  } catch (e) {
    p = null;
  }
  if (!p || !p.nonce) {
    return;
  }
  const c = p.context || {};
  // "from 203.0.113.7 (Berlin, Germany)" when push.geoip_database places it.
  const from = c.calling_station_id ?
    ' from ' + c.calling_station_id + (c.location ? ' (' + c.location + ')' : '') : '';
  const via = c.nas_identifier || c.client || '';
  const body = 'Approve VPN login for ' + p.user + from + (via ? ' via ' + via : '') +
    ' at ' + new Date(c.time).toLocaleTimeString() + '?';
  event.waitUntil(Promise.all([
    self.registration.showNotification('VPN login request', {
      body: body, tag: p.nonce, requireInteraction: true, data: { nonce: p.nonce },
    }),
    // A page opened before this worker took control is told too.
    self.clients.matchAll({ type: 'window', includeUncontrolled: true })
      .then((cs) => cs.forEach((cl) => cl.postMessage({ type: 'push', payload: p }))),
  ]));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((cs) => {
    for (const cl of cs) {
      if (new URL(cl.url).pathname === '/approver/') {
        return cl.focus();
      }
    }
    return self.clients.openWindow('/approver/');
  }));
});
