// The live event stream: one WebSocket to /ws, authenticated by its first message, resubscribed
// with the last event id after a reconnect so nothing is lost. Pages subscribe with a filter and
// a handler; a "gap" notice (the server dropped events for a slow client) tells them to refetch.

import { session } from './api.js';

const listeners = new Set();
const statusListeners = new Set();
let socket = null;
let lastEventId = null;
let filter = {};
let retryMs = 500;
let stopped = true;
let state = 'offline';
let connectedBefore = false;

function setState(next) {
  state = next;
  for (const fn of statusListeners) fn(state);
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function connect() {
  if (stopped) return;
  const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/ws`;
  socket = new WebSocket(url);
  setState('connecting');
  socket.addEventListener('open', () => send({ type: 'auth', token: session.token }));
  socket.addEventListener('message', (message) => {
    const data = JSON.parse(message.data);
    if (data.type === 'hello') {
      retryMs = 500;
      setState('live');
      send({ type: 'subscribe', ...filter, lastEventId: lastEventId ?? data.lastEventId });
      // After a reconnect pages refetch what they show, whatever the replay brings.
      if (connectedBefore) for (const fn of listeners) fn([], true);
      connectedBefore = true;
    } else if (data.type === 'events') {
      lastEventId = data.lastEventId;
      for (const fn of listeners) fn(data.events, false);
    } else if (data.type === 'gap') {
      lastEventId = data.untilId;
      for (const fn of listeners) fn([], true);
    }
  });
  socket.addEventListener('close', () => {
    socket = null;
    if (stopped) return;
    setState('reconnecting');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

export const live = {
  start() {
    if (!stopped) return;
    stopped = false;
    connect();
  },
  stop() {
    stopped = true;
    lastEventId = null;
    connectedBefore = false;
    socket?.close();
    setState('offline');
  },
  /** Narrows the stream (rolloutId, deviceId, types); events before the change are not replayed. */
  focus(next) {
    filter = next ?? {};
    if (state === 'live') send({ type: 'subscribe', ...filter });
  },
  /** handler(events, gap): gap true means events were dropped; refetch from the API. */
  subscribe(handler) {
    listeners.add(handler);
    return () => listeners.delete(handler);
  },
  onStatus(fn) {
    statusListeners.add(fn);
    fn(state);
    return () => statusListeners.delete(fn);
  },
};
