// Artifacts: the list and an upload form (streamed as the request body).
import { api, canOperate } from '../api.js';
import { card, emptyState, errorBox, fmtAgo, fmtBytes, h, mount } from '../util.js';

export function render(main) {
  const list = h('div');
  const status = h('div');
  const file = h('input', { type: 'file', id: 'artifact-file', required: true });
  const name = h('input', { id: 'artifact-name', placeholder: 'pos-firmware', required: true });
  const version = h('input', { id: 'artifact-version', placeholder: '2.4.1', required: true });
  const upload = h(
    'form',
    {
      class: 'form-inline',
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = file.files?.[0];
        if (!chosen) return;
        mount(status, h('div', { class: 'alert' }, `Uploading ${chosen.name}…`));
        try {
          const artifact = await api('POST', '/api/v1/artifacts', { query: { name: name.value.trim(), version: version.value.trim() }, raw: chosen, headers: { 'content-type': 'application/octet-stream' } });
          mount(status, h('div', { class: 'alert alert-ok' }, `Uploaded ${artifact.name} ${artifact.version} (sha256 ${String(artifact.sha256).slice(0, 12)}…)`));
          upload.reset();
          load();
        } catch (error) {
          mount(status, errorBox(error));
        }
      },
    },
    h('label', null, 'File', file),
    h('label', null, 'Name', name),
    h('label', null, 'Version', version),
    h('button', { class: 'btn btn-primary', type: 'submit' }, 'Upload'),
  );
  mount(main, canOperate() ? card('Upload an artifact', [upload, status]) : null, card('Artifacts', list));

  async function load() {
    try {
      const result = await api('GET', '/api/v1/artifacts', { query: { limit: 200 } });
      const items = result.items ?? [];
      mount(
        list,
        items.length
          ? h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'table', id: 'artifact-table' },
                h('thead', null, h('tr', null, ['Name', 'Version', 'Kind', 'Size', 'SHA-256', 'Signed', 'Added'].map((c) => h('th', null, c)))),
                h(
                  'tbody',
                  null,
                  items.map((a) =>
                    h(
                      'tr',
                      null,
                      h('td', null, h('strong', null, a.name)),
                      h('td', null, a.version),
                      h('td', null, a.kind === 'image' ? h('span', { class: 'tag', title: a.imageRef }, 'image') : h('span', { class: 'tag' }, 'file')),
                      h('td', null, a.kind === 'image' ? '—' : fmtBytes(a.size)),
                      h('td', null, h('code', { title: a.sha256 ?? '' }, a.sha256 ? `${a.sha256.slice(0, 12)}…` : '—')),
                      h('td', null, a.signature ? h('span', { class: 'pill pill-completed' }, 'signed') : h('span', { class: 'muted' }, 'no')),
                      h('td', { class: 'muted' }, fmtAgo(a.createdAt)),
                    ),
                  ),
                ),
              ),
            )
          : emptyState('No artifacts yet.'),
      );
    } catch (error) {
      mount(list, errorBox(error));
    }
  }
  load();
  return null;
}
