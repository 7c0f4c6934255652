/**
 * One image's detail in a modal dialog: NIH metadata, findings and boxes, the adjudicated four-findings and
 * all-findings labels, every read reader by reader, and the image itself through /v1/images/{id}/content
 * when the server can sign URLs (a note saying why not when it cannot).
 */
import type { ImageRecord, NihCxrClient } from '../../client/index.ts';
import { ApiError, problemView } from './api.ts';
import { byId, type Child, h, humanize, s } from './dom.ts';

type Readers = ImageRecord['expert']['readers'];

const FOUR = ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'] as const;

export interface ImageDetail {
  open(imageId: string, opener?: HTMLElement): Promise<void>;
}

export function createImageDetail(o: {
  client: () => NihCxrClient;
  apiKey: () => string;
  onClose: () => void;
}): ImageDetail {
  const dialog = byId<HTMLDialogElement>('detail');
  const content = byId('detail-content');
  const title = byId('detail-title');
  let opener: HTMLElement | undefined;
  let seq = 0;
  byId('detail-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    seq++;
    o.onClose();
    opener?.focus();
  });

  return {
    async open(imageId, from) {
      const mine = ++seq;
      opener = from;
      title.textContent = `Image ${imageId}`;
      content.replaceChildren(h('p', { role: 'status' }, 'Loading…'));
      dialog.setAttribute('aria-busy', 'true');
      if (!dialog.open) dialog.showModal();
      try {
        const record = await o.client().getImage(imageId);
        if (mine !== seq) return;
        content.replaceChildren(...renderRecord(record));
        dialog.setAttribute('aria-busy', 'false');
        await showPicture(record, mine);
      } catch (err) {
        if (mine !== seq) return;
        content.replaceChildren(problemView(err));
        dialog.setAttribute('aria-busy', 'false');
      }
    },
  };

  /** Asks the content route first: a redirect means signing works, a problem says why it does not. */
  async function showPicture(r: ImageRecord, mine: number): Promise<void> {
    const frame = byId('detail-picture');
    const path = `/v1/images/${encodeURIComponent(r.imageId)}/content?format=png`;
    try {
      await o.client().raw('GET', path, undefined, { redirect: 'manual' });
      if (mine !== seq) return;
      const key = o.apiKey();
      const img = h('img', {
        src: key ? `${path}&key=${encodeURIComponent(key)}` : path,
        alt: `Chest X-ray ${r.imageId}`,
        width: r.width,
        height: r.height,
      });
      img.addEventListener('error', () =>
        byId('picture-note').replaceChildren('The signed image URL did not load (network or billing).'),
      );
      frame.prepend(img);
      frame.classList.add('has-image');
      byId('picture-note').replaceChildren('PNG through a signed URL (requester pays).');
    } catch (err) {
      if (mine !== seq) return;
      const signing = err instanceof ApiError && err.status === 503;
      byId('picture-note').replaceChildren(
        h(
          'strong',
          {},
          signing ? 'No image: this server cannot sign URLs. ' : 'No image: the content route failed. ',
        ),
        err instanceof ApiError && err.problem?.detail ? err.problem.detail : String(err),
      );
      byId('picture-note').dataset.signing = signing ? 'unconfigured' : 'failed';
    }
  }
}

function renderRecord(r: ImageRecord): HTMLElement[] {
  const e = r.expert;
  return [
    h(
      'section',
      { class: 'detail-grid' },
      h(
        'div',
        {},
        h('div', { id: 'detail-picture', class: 'picture' }, boxesOverlay(r)),
        h(
          'p',
          { id: 'picture-note', class: 'hint', role: 'status' },
          'Checking whether the image can be shown…',
        ),
      ),
      h(
        'div',
        {},
        h('h3', {}, 'NIH metadata'),
        h(
          'dl',
          { class: 'meta' },
          pair('Patient', `${r.patientId} (follow-up ${r.followUp})`),
          pair('Age, sex', `${r.patientAge ?? 'unknown'}, ${r.patientSex}`),
          pair('View', r.viewPosition),
          pair('Split', r.split === 'train_val' ? 'train/val' : r.split),
          pair('Size', `${r.width} × ${r.height} px, ${r.pixelSpacing.x} mm/px`),
          pair('NIH findings', r.findings.length ? r.findings.join(', ').replace(/_/g, ' ') : 'No Finding'),
          pair('Files', h('code', {}, r.files.png)),
        ),
        h('h3', {}, `Bounding boxes (${r.boundingBoxes.length})`),
        r.boundingBoxes.length
          ? table(
              'Bounding boxes',
              ['Finding', 'x', 'y', 'w', 'h'],
              r.boundingBoxes.map((b) =>
                [b.finding, b.x, b.y, b.w, b.h].map((v) => (typeof v === 'number' ? Math.round(v) : v)),
              ),
            )
          : h('p', { class: 'hint' }, 'None in BBox_List_2017.csv.'),
      ),
    ),
    h('h3', {}, 'Four findings (adjudicated, Majkowska et al. 2019)'),
    e.fourFindings
      ? readsTable(
          'four-findings',
          FOUR.map((k) => [k, e.fourFindings?.[k] ? 'YES' : 'NO']),
          e.readers.filter((x) => x.study === 'fourFindings'),
          `Set: ${e.fourFindings.set}. `,
        )
      : h('p', { class: 'hint' }, 'Not in the four-findings study.'),
    h('h3', {}, 'All findings (majority of three, Nabulsi et al. 2021)'),
    e.allFindings
      ? readsTable(
          'all-findings',
          [
            ['abnormal', e.allFindings.abnormal ? 'YES' : 'NO'],
            ...Object.entries(e.allFindings.findings).map(
              ([k, v]) => [k, v ? 'YES' : 'NO'] as [string, string],
            ),
            ['other', e.allFindings.other ? 'YES' : 'NO'],
          ],
          e.readers.filter((x) => x.study === 'allFindings'),
          '',
        )
      : h('p', { class: 'hint' }, 'Not in the all-findings study.'),
  ];
}

function pair(term: string, value: Child): Child[] {
  return [h('dt', {}, term), h('dd', {}, value)];
}

function table(caption: string, head: string[], rows: Child[][], cls = ''): HTMLElement {
  return h(
    'div',
    { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': caption },
    h(
      'table',
      { class: cls },
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))),
          ),
        ),
      ),
    ),
  );
}

const value = (v: string | undefined): Child =>
  v ? h('span', { class: `read read-${v.toLowerCase()}` }, v) : h('span', { class: 'hint' }, '-');

/** Labels down, readers across: the adjudicated value, then each reader's own read. */
function readsTable(id: string, labels: [string, string][], readers: Readers, note: string): HTMLElement {
  const wrap = table(
    `${humanize(id)}: adjudicated label and every read`,
    ['Label', 'Adjudicated', ...readers.map((r) => `Reader ${r.readerId}`)],
    labels.map(([k, adj]) => [humanize(k), value(adj), ...readers.map((r) => value(r.labels[k]))]),
    'reads',
  );
  wrap.id = `reads-${id}`;
  wrap.dataset.readers = String(readers.length);
  return h('div', {}, h('p', { class: 'hint' }, `${note}${readers.length} individual reads.`), wrap);
}

/** The boxes drawn in image pixels over the picture (or over an empty frame of its size). */
function boxesOverlay(r: ImageRecord): SVGElement {
  return s(
    'svg',
    {
      viewBox: `0 0 ${r.width} ${r.height}`,
      class: 'boxes',
      role: 'img',
      'aria-label': r.boundingBoxes.length
        ? `Bounding boxes: ${r.boundingBoxes.map((b) => b.finding).join(', ')}`
        : 'Image frame, no bounding boxes',
      preserveAspectRatio: 'xMidYMid meet',
    },
    r.boundingBoxes.map((b) =>
      s(
        'g',
        {},
        s('rect', { x: b.x, y: b.y, width: b.w, height: b.h }),
        s('text', { x: b.x + 8, y: Math.max(40, b.y - 12) }, b.finding),
      ),
    ),
  );
}
