// The when and how-fast parts of the create-rollout form: start time, maintenance window (daily or
// cron, in each device's zone or a fixed one), concurrency, rate limit with growth, and retries.
// Each part reads itself into the API's shape and binds its fields' error paths.
import { h } from '../util.js';
import { checkbox, labelled, numberInput, readNumber, select } from './form-fields.js';

let zones = null;
function timeZones() {
  zones ??= typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];
  return zones;
}

/** Start time: empty starts at once; a local date-time in the browser's zone becomes an instant. */
export function startSection(errors) {
  const input = h('input', { id: 'rollout-start-at', type: 'datetime-local', step: 60 });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return {
    el: labelled(errors, 'startAt', 'Start at', input, { hint: `Empty: at once. In your browser's time zone (${zone}); the device set is fixed when it starts.` }),
    read(body, problems) {
      if (input.validity.badInput) return void problems.push({ path: 'startAt', message: 'is not a complete date and time' });
      if (input.value) body.startAt = new Date(input.value).toISOString();
    },
  };
}

export function windowSection(errors) {
  const kind = select('rollout-window', [['', 'Any time'], ['daily', 'Daily window'], ['cron', 'Cron schedule']], '');
  const from = h('input', { id: 'rollout-window-from', type: 'time', value: '02:00', 'aria-label': 'Window opens at' });
  const to = h('input', { id: 'rollout-window-to', type: 'time', value: '04:00', 'aria-label': 'Window closes at' });
  const cron = h('input', { id: 'rollout-window-cron', placeholder: '0 2 * * 1-5', spellcheck: 'false', autocomplete: 'off' });
  const duration = numberInput('rollout-window-duration', { integer: true, min: 1, placeholder: '120' });
  const zone = h('input', { id: 'rollout-window-timezone', list: 'rollout-zones', placeholder: "each device's own", autocomplete: 'off', spellcheck: 'false' });
  const expected = numberInput('rollout-window-expected', { min: 0, placeholder: '0' });
  const zoneList = h('datalist', { id: 'rollout-zones' }, timeZones().map((z) => h('option', { value: z })));
  const ahead = checkbox(errors, 'downloadAhead', 'rollout-download-ahead', 'Download ahead, install in the window', { hint: 'Pull devices download and verify at once and install only when their window opens.' });
  const fromTo = h('span', { class: 'input-unit' }, from, h('span', { class: 'muted' }, 'to'), to);
  const daily = labelled(errors, 'window.daily', 'Open daily from', fromTo, { input: from, hint: 'May cross midnight (22:00 to 02:00).' });
  const cronRow = h('div', { class: 'form-row' }, labelled(errors, 'window.cron', 'Opens (cron)', cron, { hint: 'minute hour day month weekday' }), labelled(errors, 'window.durationMinutes', 'Stays open (minutes)', duration));
  const shared = h(
    'div',
    { class: 'form-row' },
    labelled(errors, 'window.timezone', 'Time zone', zone, { hint: "Empty: each device's own zone." }),
    labelled(errors, 'window.expectedDurationSeconds', 'Start only if this many minutes remain', expected, { hint: 'How long one delivery takes.' }),
    zoneList,
  );
  const sync = () => {
    daily.hidden = kind.value !== 'daily';
    cronRow.hidden = kind.value !== 'cron';
    shared.hidden = kind.value === '';
    ahead.row.hidden = kind.value === '';
  };
  kind.addEventListener('change', sync);
  sync();
  return {
    el: h('div', { class: 'form-fields' }, labelled(errors, 'window', 'Maintenance window', kind, { hint: 'Deliveries start only while the window is open.' }), daily, cronRow, shared, ahead.row),
    read(body, problems) {
      if (!kind.value) return;
      const window = {};
      if (kind.value === 'daily') window.daily = `${from.value}-${to.value}`;
      else {
        window.cron = cron.value.trim();
        const minutes = readNumber(duration, 'window.durationMinutes', problems);
        if (minutes !== undefined) window.durationMinutes = minutes;
      }
      if (zone.value.trim()) window.timezone = zone.value.trim();
      const remain = readNumber(expected, 'window.expectedDurationSeconds', problems);
      if (remain !== undefined) window.expectedDurationSeconds = Math.round(remain * 60);
      body.window = window;
      if (ahead.input.checked) body.downloadAhead = true;
    },
  };
}

/** Concurrency, rate limit (with growth) and retries: each object is sent only when a field is set. */
export function paceSection(errors) {
  const concurrency = numberInput('rollout-concurrency', { integer: true, min: 1, placeholder: 'unlimited' });
  const perMinute = numberInput('rollout-rate', { integer: true, min: 1, placeholder: 'unlimited' });
  const growth = numberInput('rollout-rate-growth', { min: 1, placeholder: '1 (no growth)' });
  const growEvery = numberInput('rollout-rate-every', { integer: true, min: 1, placeholder: '1' });
  const maxPerMinute = numberInput('rollout-rate-max', { integer: true, min: 1, placeholder: 'no cap' });
  const attempts = numberInput('rollout-retry-attempts', { integer: true, min: 1, placeholder: '3' });
  const backoff = numberInput('rollout-retry-backoff', { min: 0, placeholder: '5' });
  const maxBackoff = numberInput('rollout-retry-max-backoff', { min: 0, placeholder: '300' });
  const rate = (id) => h('input', { id, placeholder: 'no cap', maxlength: 40, autocomplete: 'off', spellcheck: 'false' });
  const bandwidth = rate('rollout-max-bandwidth');
  const deviceBandwidth = rate('rollout-max-device-bandwidth');
  const group = (path, fields, problems) => {
    const out = {};
    for (const [key, el] of fields) {
      const n = readNumber(el, `${path}.${key}`, problems);
      if (n !== undefined) out[key] = n;
    }
    return Object.keys(out).length ? out : undefined;
  };
  return {
    el: h(
      'div',
      { class: 'form-fields' },
      h('div', { class: 'form-row' }, labelled(errors, 'maxConcurrency', 'Max concurrent deliveries', concurrency)),
      h(
        'div',
        { class: 'form-row' },
        labelled(errors, 'rateLimit.perMinute', 'Starts per minute', perMinute, { also: ['rateLimit'] }),
        labelled(errors, 'rateLimit.growthFactor', 'Grow the rate by ×', growth),
        labelled(errors, 'rateLimit.growEvery', 'after every N successes', growEvery),
        labelled(errors, 'rateLimit.maxPerMinute', 'up to per minute', maxPerMinute),
      ),
      h(
        'div',
        { class: 'form-row' },
        labelled(errors, 'retry.maxAttempts', 'Attempts per device', attempts, { also: ['retry'] }),
        labelled(errors, 'retry.backoffSeconds', 'First retry after (s)', backoff),
        labelled(errors, 'retry.maxBackoffSeconds', 'Longest wait between retries (s)', maxBackoff),
      ),
      h(
        'div',
        { class: 'form-row' },
        labelled(errors, 'maxBandwidth', 'Download rate, all devices', bandwidth, { hint: 'e.g. 50MB/s or 200Mbit/s; per server. Paced, never refused.' }),
        labelled(errors, 'maxDeviceBandwidth', 'Download rate, each device', deviceBandwidth, { hint: 'e.g. 1MB/s' }),
      ),
    ),
    read(body, problems) {
      const max = readNumber(concurrency, 'maxConcurrency', problems);
      if (max !== undefined) body.maxConcurrency = max;
      const rate = group('rateLimit', [['perMinute', perMinute], ['growthFactor', growth], ['growEvery', growEvery], ['maxPerMinute', maxPerMinute]], problems);
      if (rate) body.rateLimit = rate;
      const retry = group('retry', [['maxAttempts', attempts], ['backoffSeconds', backoff], ['maxBackoffSeconds', maxBackoff]], problems);
      if (retry) body.retry = retry;
      if (bandwidth.value.trim()) body.maxBandwidth = bandwidth.value.trim();
      if (deviceBandwidth.value.trim()) body.maxDeviceBandwidth = deviceBandwidth.value.trim();
    },
  };
}
