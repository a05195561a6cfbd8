// The approver app: pairs the phone (a WebCrypto P-256 key that never
// leaves the browser, and a Web Push subscription), lists the logins
// waiting for it and answers them with signed requests.
'use strict';

const DB = 'radiusmfa-approver';
const enc = new TextEncoder();

function $(id) { return document.getElementById(id); }
function status(text) { $('status').textContent = text; }

function b64url(buf) {
  const s = btoa(String.fromCharCode(...new Uint8Array(buf)));
  return s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function b64(buf) { return btoa(String.fromCharCode(...new Uint8Array(buf))); }
function fromB64url(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

// The identity (user, device, key) is kept in IndexedDB: a CryptoKey is
// stored as is, so the non-extractable private key stays unreadable.
function db() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('identity');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function load() {
  const d = await db();
  return new Promise((resolve, reject) => {
    const r = d.transaction('identity').objectStore('identity').get('me');
    r.onsuccess = () => resolve(r.result || null);
    r.onerror = () => reject(r.error);
  });
}
async function save(v) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction('identity', 'readwrite');
    t.objectStore('identity').put(v, 'me');
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
  });
}

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    credentials: 'omit', cache: 'no-store',
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) {
    throw new Error(j.error || ('HTTP ' + r.status));
  }
  return j;
}

async function sign(key, text) {
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, enc.encode(text));
  return b64url(sig); // WebCrypto signatures are r||s (IEEE P1363)
}

async function pair(token) {
  status('Pairing…');
  // Asked first, while the tap on "Pair this phone" still counts as the
  // user's gesture: some browsers (Safari) ask only then.
  if ((await Notification.requestPermission()) !== 'granted') {
    throw new Error('notifications are blocked: allow them for this site, then pair again');
  }
  const reg = await navigator.serviceWorker.register('/approver/sw.js', { scope: '/approver/' });
  await navigator.serviceWorker.ready;
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const spki = await crypto.subtle.exportKey('spki', keys.publicKey);
  const vapid = await fetch('/approver/vapid', { cache: 'no-store' }).then((r) => r.json());
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromB64url(vapid.public_key) });
  const res = await post('/approver/pair', {
    token: token, name: $('device-name').value, public_key: b64(spki), subscription: sub.toJSON(),
  });
  await save({ user: res.user, device: res.device, key: keys.privateKey });
  history.replaceState(null, '', '/approver/');
  status('This phone is paired for ' + res.user + '. Login requests will appear here and as notifications.');
}

async function refresh(me) {
  const t = Math.floor(Date.now() / 1000);
  const sig = await sign(me.key, 'radiusmfa-list-v1\n' + me.user + '\n' + me.device + '\n' + t);
  const res = await post('/approver/pending', { user: me.user, device: me.device, time: t, signature: sig });
  show(me, res.pending || []);
}

function show(me, pending) {
  const list = $('request-list');
  list.replaceChildren();
  $('none').hidden = pending.length > 0;
  for (const p of pending) {
    const c = p.context || {};
    const li = document.createElement('li');
    li.className = 'request';
    li.dataset.nonce = p.nonce;
    const text = document.createElement('p');
    text.textContent = 'Approve VPN login for ' + p.user +
      (c.calling_station_id ? ' from ' + c.calling_station_id + (c.location ? ' (' + c.location + ')' : '') : '') +
      ((c.nas_identifier || c.client) ? ' via ' + (c.nas_identifier || c.client) : '') +
      ' at ' + new Date(c.time).toLocaleTimeString() + '?';
    li.append(text);
    const buttons = [];
    if (c.choices && c.choices.length) {
      const q = document.createElement('p');
      q.textContent = 'Tap the number shown at your login:';
      li.append(q);
      for (const n of c.choices) {
        buttons.push(button(String(n), 'approve', n));
      }
    } else {
      buttons.push(button('Approve', 'approve', 0));
    }
    buttons.push(button('Deny', 'deny', 0), button('Deny and report', 'report', 0));
    li.append(...buttons);
    list.append(li);

    function button(label, verdict, number) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.className = 'answer-' + verdict;
      b.addEventListener('click', async () => {
        try {
          const t = Math.floor(Date.now() / 1000);
          // With number matching the pick is signed too (v2).
          const sig = await sign(me.key, number
            ? 'radiusmfa-push-v2\n' + p.nonce + '\n' + me.user + '\n' + verdict + '\n' + number + '\n' + t
            : 'radiusmfa-push-v1\n' + p.nonce + '\n' + me.user + '\n' + verdict + '\n' + t);
          const r = await post('/approver/answer', { nonce: p.nonce, user: me.user, verdict: verdict, time: t, signature: sig, number: number });
          status(r.verdict === 'approved' ? 'Approved.' : 'Denied' + (verdict === 'report' ? ' and reported to your administrators.' : '.'));
        } catch (e) {
          status('Could not answer: ' + e.message);
        }
        refresh(me).catch((e) => status('Could not refresh: ' + e.message));
      });
      return b;
    }
  }
}

// watch shows the requests waiting for a paired phone and keeps the list
// current: when the service worker reports a push, on Refresh, and when
// the app comes back to the foreground.
async function watch(me) {
  $('pair').hidden = true;
  $('requests').hidden = false;
  const again = () => refresh(me).catch((e) => status('Could not refresh: ' + e.message));
  $('refresh').addEventListener('click', again);
  navigator.serviceWorker.addEventListener('message', (ev) => {
    if (ev.data && ev.data.type === 'push') {
      again();
    }
  });
  navigator.serviceWorker.startMessages();
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) {
      again();
    }
  });
  await refresh(me);
}

async function main() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !crypto.subtle) {
    status('This browser cannot receive push requests. Use an up-to-date browser on your phone.');
    return;
  }
  const m = location.hash.match(/^#pair=([A-Za-z0-9_-]+)$/);
  if (m) {
    $('pair').hidden = false;
    status('Name this phone, then pair it.');
    const button = $('pair-button');
    button.addEventListener('click', () => {
      button.disabled = true; // the code works once: no second request
      pair(m[1]).then(async () => watch(await load())).catch((e) => {
        button.disabled = false;
        status('Pairing failed: ' + e.message);
      });
    });
    return;
  }
  const me = await load();
  if (!me) {
    status('This phone is not paired. On your computer, open your account page and choose "Pair a phone".');
    return;
  }
  await navigator.serviceWorker.register('/approver/sw.js', { scope: '/approver/' });
  status('Paired for ' + me.user + '.');
  await watch(me);
}

main().catch((e) => status('Error: ' + e.message));
