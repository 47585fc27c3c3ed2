// Test fixtures: writes CPIO newc archives (.swu) byte by byte, so parser and integration tests
// build their own images without external tools.

/** A CPIO newc archive of the given members, in order, with the trailer. */
export function buildCpio(members: Array<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const entry = (name: string, data: Buffer) => {
    const fields = [ino++, 0o100644, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    const head = Buffer.concat([Buffer.from(header, 'latin1'), Buffer.from(name + '\0')]);
    parts.push(head, Buffer.alloc((4 - (head.length % 4)) % 4), data, Buffer.alloc((4 - (data.length % 4)) % 4));
  };
  for (const [name, data] of members) entry(name, Buffer.from(data));
  entry('TRAILER!!!', Buffer.alloc(0));
  return Buffer.concat(parts);
}
