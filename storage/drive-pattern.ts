/**
 * MinIO's ellipsis syntax: `/data{1...6}` → /data1 … /data6, `/d{01...16}` keeps
 * zero padding, several ranges in one pattern expand as a cross product.
 */
export function expandDrivePattern(pattern: string): string[] {
  const m = /\{(\d+)\.\.\.(\d+)\}/.exec(pattern);
  if (!m) return [pattern];
  const [whole, a = '', b = ''] = m;
  const from = Number(a);
  const to = Number(b);
  if (to < from) throw new Error(`invalid drive pattern ${pattern}: ${from} > ${to}`);
  const width = a.startsWith('0') && a.length > 1 ? a.length : 0;
  const head = pattern.slice(0, m.index);
  const tail = pattern.slice(m.index + whole.length);
  const out: string[] = [];
  for (let i = from; i <= to; i++) {
    for (const rest of expandDrivePattern(tail)) out.push(head + String(i).padStart(width, '0') + rest);
  }
  return out;
}
