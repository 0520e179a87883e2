// Small SVG charts: x/y (lines and grouped bars on one axis), donut, horizontal bars.
// Each chart is a <figure> with a caption, an SVG with <title>/<desc>, and a tooltip that
// follows the pointer or the keyboard (focus the chart, then ←/→).
import { h, s, clear } from './dom.js';
import { compactWon, compactWonTicks, won } from './format.js';

function niceStep(range, count) {
  const raw = range / Math.max(count, 1);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const norm = raw / mag;
  const nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return nice * mag;
}

function ticks(min, max, count) {
  if (min === max) { max = min + 1; }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const out = [];
  for (let v = lo; v <= hi + step / 2; v += step) out.push(Math.round(v));
  return out;
}

let chartSeq = 0;

function frame(caption, summary) {
  const id = `chart-${++chartSeq}`;
  const tip = h('div', { class: 'chart-tip', role: 'status', 'aria-live': 'polite', hidden: true });
  const body = h('div', { class: 'chart-body' });
  const fig = h('figure', { class: 'chart', 'aria-labelledby': `${id}-cap` },
    h('figcaption', { id: `${id}-cap` }, caption), body, tip);
  return { fig, body, tip, id, summary };
}

function showTip(f, x, y, lines) {
  clear(f.tip);
  lines.forEach((l, i) => f.tip.appendChild(h(i === 0 ? 'strong' : 'span', { class: l.cls || '' }, l.text)));
  f.tip.hidden = false;
  const bw = f.body.clientWidth;
  f.tip.style.left = `${Math.max(0, Math.min(x + 12, bw - 180))}px`;
  f.tip.style.top = `${Math.max(0, y - 10)}px`;
}

function observe(f, draw) {
  let last = -1;
  const redraw = () => {
    const w = Math.round(f.body.clientWidth);
    if (w > 0 && w !== last) { last = w; draw(w); }
  };
  if ('ResizeObserver' in window) new ResizeObserver(redraw).observe(f.body);
  requestAnimationFrame(redraw);
  return f.fig;
}

/**
 * x/y chart. labels: x labels (strings, already formatted); series: [{name, values, type:
 * 'line'|'bar'}]; fmt: value formatter for tooltips (won by default).
 */
export function xyChart({ caption, labels, series, fmt = won, height = 240, empty }) {
  const f = frame(caption);
  if (!labels.length) {
    f.body.appendChild(h('p', { class: 'muted' }, empty || '–'));
    return f.fig;
  }
  const legend = h('ul', { class: 'legend' },
    series.map((se, i) => h('li', {}, h('span', { class: `swatch s${i} ${se.type || 'line'}` }), se.name)));
  f.fig.insertBefore(legend, f.tip);
  const all = series.flatMap((se) => se.values).filter((v) => v !== null && v !== undefined);
  const hasBars = series.some((se) => se.type === 'bar');
  const yTicks = ticks(Math.min(hasBars ? 0 : Math.min(...all), ...all, hasBars ? 0 : Infinity), Math.max(...all), 4);
  const yMin = yTicks[0];
  const yMax = yTicks[yTicks.length - 1];

  const labelWidth = (text) => Array.from(text).reduce((w, c) => w + (c.charCodeAt(0) > 0x2000 ? 11 : 6.6), 0);
  const tickLabels = compactWonTicks(yTicks);
  const left = Math.ceil(Math.max(40, ...tickLabels.map((l) => labelWidth(l))) + 10);
  return observe(f, (W) => {
    const m = { l: left, r: 12, t: 12, b: 28 };
    const H = height;
    const iw = W - m.l - m.r;
    const ih = H - m.t - m.b;
    const n = labels.length;
    const band = iw / n;
    const xAt = (i) => m.l + band * (i + 0.5);
    const yAt = (v) => m.t + ih - ((v - yMin) / (yMax - yMin || 1)) * ih;
    const desc = `${series.map((se) => se.name).join(', ')}: ${labels[0]} – ${labels[n - 1]}`;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', tabindex: 0,
      'aria-labelledby': `${f.id}-t ${f.id}-d`, class: 'chart-svg' },
      s('title', { id: `${f.id}-t` }, f.fig.querySelector('figcaption').textContent),
      s('desc', { id: `${f.id}-d` }, desc));
    yTicks.forEach((t, i) => {
      svg.appendChild(s('line', { class: 'grid', x1: m.l, x2: W - m.r, y1: yAt(t), y2: yAt(t) }));
      svg.appendChild(s('text', { class: 'axis', x: m.l - 6, y: yAt(t) + 4, 'text-anchor': 'end' }, tickLabels[i]));
    });
    const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(iw / 64))));
    labels.forEach((l, i) => {
      if (i % every === 0) svg.appendChild(s('text', { class: 'axis', x: xAt(i), y: H - 8, 'text-anchor': 'middle' }, l));
    });
    const bars = series.map((se, i) => [se, i]).filter(([se]) => se.type === 'bar');
    const bw = Math.max(1, Math.min(28, (band * 0.8) / Math.max(bars.length, 1)));
    bars.forEach(([se, si], bi) => {
      se.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const x = xAt(i) - (bw * bars.length) / 2 + bi * bw;
        const y0 = yAt(Math.max(0, yMin));
        const y1 = yAt(v);
        svg.appendChild(s('rect', { class: `bar s${si}`, x, y: Math.min(y0, y1), width: Math.max(1, bw - 1), height: Math.max(1, Math.abs(y0 - y1)) }));
      });
    });
    series.forEach((se, si) => {
      if (se.type === 'bar') return;
      const pts = se.values.map((v, i) => (v === null || v === undefined ? null : `${xAt(i)},${yAt(v)}`)).filter(Boolean);
      svg.appendChild(s('polyline', { class: `line s${si}`, points: pts.join(' ') }));
      if (n <= 40) se.values.forEach((v, i) => { if (v !== null && v !== undefined) svg.appendChild(s('circle', { class: `dot s${si}`, cx: xAt(i), cy: yAt(v), r: 3 })); });
    });
    const cursor = s('line', { class: 'cursor', x1: 0, x2: 0, y1: m.t, y2: m.t + ih, visibility: 'hidden' });
    svg.appendChild(cursor);
    let active = -1;
    const focusIndex = (i) => {
      active = Math.max(0, Math.min(n - 1, i));
      cursor.setAttribute('x1', xAt(active));
      cursor.setAttribute('x2', xAt(active));
      cursor.setAttribute('visibility', 'visible');
      showTip(f, xAt(active), m.t, [{ text: labels[active] },
        ...series.map((se, si) => ({ text: `${se.name}: ${fmt(se.values[active])}`, cls: `tip-s${si}` }))]);
    };
    const hide = () => { f.tip.hidden = true; cursor.setAttribute('visibility', 'hidden'); };
    svg.addEventListener('pointermove', (e) => {
      const r = svg.getBoundingClientRect();
      const x = ((e.clientX - r.left) / r.width) * W;
      focusIndex(Math.floor((x - m.l) / band));
    });
    svg.addEventListener('pointerleave', hide);
    svg.addEventListener('blur', hide);
    svg.addEventListener('focus', () => focusIndex(active < 0 ? n - 1 : active));
    svg.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowLeft') { focusIndex(active - 1); e.preventDefault(); }
      if (e.key === 'ArrowRight') { focusIndex(active + 1); e.preventDefault(); }
      if (e.key === 'Escape') hide();
    });
    clear(f.body).appendChild(svg);
  });
}

/** Donut of shares: items [{label, value}]; centre shows the total. */
export function donutChart({ caption, items, fmt = won, centerLabel, empty }) {
  const f = frame(caption);
  const total = items.reduce((a, it) => a + Math.max(0, it.value), 0);
  if (!items.length || total <= 0) {
    f.body.appendChild(h('p', { class: 'muted' }, empty || '–'));
    return f.fig;
  }
  const pct = (v) => `${((v / total) * 100).toFixed(1)}%`;
  const legend = h('ul', { class: 'legend legend-col' },
    items.map((it, i) => h('li', {}, h('span', { class: `swatch s${i % 8}` }),
      h('span', { class: 'legend-label' }, it.label), h('span', { class: 'legend-value' }, `${fmt(it.value)} · ${pct(it.value)}`))));
  f.fig.insertBefore(legend, f.tip);
  return observe(f, (W) => {
    const size = Math.min(W, 240);
    const R = size / 2 - 4;
    const r = R * 0.62;
    const c = size / 2;
    const svg = s('svg', { viewBox: `0 0 ${size} ${size}`, width: size, height: size, role: 'img', tabindex: 0,
      'aria-labelledby': `${f.id}-t ${f.id}-d`, class: 'chart-svg donut' },
      s('title', { id: `${f.id}-t` }, f.fig.querySelector('figcaption').textContent),
      s('desc', { id: `${f.id}-d` }, items.map((it) => `${it.label} ${pct(it.value)}`).join(', ')));
    let a0 = -Math.PI / 2;
    const segs = [];
    items.forEach((it, i) => {
      const frac = Math.max(0, it.value) / total;
      const a1 = a0 + frac * Math.PI * 2 - (frac >= 1 ? 1e-6 : 0);
      const large = a1 - a0 > Math.PI ? 1 : 0;
      const p = (rad, a) => `${c + rad * Math.cos(a)},${c + rad * Math.sin(a)}`;
      const d = `M${p(R, a0)} A${R},${R} 0 ${large} 1 ${p(R, a1)} L${p(r, a1)} A${r},${r} 0 ${large} 0 ${p(r, a0)} Z`;
      const seg = s('path', { class: `seg s${i % 8}`, d });
      seg.addEventListener('pointermove', (e) => {
        const b = f.body.getBoundingClientRect();
        select(i, e.clientX - b.left, e.clientY - b.top);
      });
      segs.push(seg);
      svg.appendChild(seg);
      a0 = a1;
    });
    svg.appendChild(s('text', { class: 'donut-total', x: c, y: c - 2, 'text-anchor': 'middle' }, centerLabel || ''));
    svg.appendChild(s('text', { class: 'donut-value', x: c, y: c + 16, 'text-anchor': 'middle' }, compactWon(total)));
    let active = -1;
    function select(i, x, y) {
      active = (i + items.length) % items.length;
      segs.forEach((sg, j) => sg.classList.toggle('active', j === active));
      const it = items[active];
      showTip(f, x, y, [{ text: it.label }, { text: `${fmt(it.value)} (${pct(it.value)})` }]);
    }
    const hide = () => { f.tip.hidden = true; segs.forEach((sg) => sg.classList.remove('active')); };
    svg.addEventListener('pointerleave', hide);
    svg.addEventListener('blur', hide);
    svg.addEventListener('focus', () => select(active < 0 ? 0 : active, c, c));
    svg.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight' || e.key === 'ArrowDown') { select(active + 1, c, c); e.preventDefault(); }
      if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') { select(active - 1, c, c); e.preventDefault(); }
      if (e.key === 'Escape') hide();
    });
    clear(f.body).appendChild(svg);
  });
}

/** Horizontal bars, largest first, with the value written beside each bar. */
export function hbarChart({ caption, items, fmt = won, empty }) {
  const f = frame(caption);
  const max = Math.max(0, ...items.map((it) => it.value));
  if (!items.length || max <= 0) {
    f.body.appendChild(h('p', { class: 'muted' }, empty || '–'));
    return f.fig;
  }
  const total = items.reduce((a, it) => a + it.value, 0);
  const list = h('ol', { class: 'hbars' }, items.map((it, i) => {
    const bar = h('span', { class: `hbar-fill s${i % 8}` });
    bar.style.width = `${Math.max(1, (it.value / max) * 100)}%`;
    const share = total > 0 ? ` (${((it.value / total) * 100).toFixed(1)}%)` : '';
    return h('li', { tabindex: 0, title: `${it.label}: ${fmt(it.value)}${share}` },
      h('span', { class: 'hbar-label' }, it.label),
      h('span', { class: 'hbar-track' }, bar),
      h('span', { class: 'hbar-value' }, fmt(it.value)));
  }));
  f.body.appendChild(list);
  return f.fig;
}
