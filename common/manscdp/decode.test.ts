import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody, declaredEncoding, encodeGb2312 } from './decode.ts';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const body = (decl: string | undefined, name: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from(`${decl === undefined ? '' : `<?xml version="1.0" encoding="${decl}"?>\r\n`}<Notify><Name>`, 'latin1'),
    name,
    Buffer.from('</Name></Notify>', 'latin1'),
  ]);
const nameIn = (text: string): string => /<Name>(.*)<\/Name>/s.exec(text)?.[1] ?? '<missing>';

test('encodeGb2312 round-trips Chinese names through the GB18030 decoder', () => {
  for (const name of ['大门口摄像机', '东门 1号通道', '１２３ＡＢＣ，。！', '北京市海淀区中关村大街1号', 'ASCII only 0123']) {
    const bytes = encodeGb2312(name);
    assert.equal(new TextDecoder('gb18030').decode(bytes), name);
  }
  assert.deepEqual([...encodeGb2312('大门')], [0xb4, 0xf3, 0xc3, 0xc5]);
  assert.deepEqual([...encodeGb2312('A')], [0x41]);
});

test('encodeGb2312 writes ? for characters outside GB2312', () => {
  assert.equal(encodeGb2312('朱镕基').toString('latin1').length, 5); // 镕 is GBK, not GB2312
  assert.equal(new TextDecoder('gb18030').decode(encodeGb2312('朱镕基')), '朱?基');
  assert.equal(encodeGb2312('a𠀀b镕').toString('latin1'), 'a?b?'); // one ? per code point
  assert.equal(encodeGb2312('\ud800x').toString('latin1'), '?x'); // lone surrogate
  assert.equal(encodeGb2312('').length, 0);
});

test('reads the declared encoding anywhere in the head, lower-cased', () => {
  assert.equal(declaredEncoding(utf8('<?xml version="1.0" encoding="GB2312"?><a/>')), 'gb2312');
  assert.equal(declaredEncoding(utf8("junk\r\n<?XML version='1.0' encoding = 'UTF-8' ?><a/>")), 'utf-8');
  assert.equal(declaredEncoding(utf8('<?xml version="1.0" encoding=gbk><a/>')), 'gbk');
  assert.equal(declaredEncoding(utf8('<?xml version="1.0"?><a/>')), undefined);
  assert.equal(declaredEncoding(utf8('<a encoding="utf-8"/>')), undefined);
  assert.equal(declaredEncoding(new Uint8Array(0)), undefined);
});

test('GB2312, GBK and GB18030 bodies decode as GB18030 whatever they declare', () => {
  const gb2312 = encodeGb2312('大门口摄像机');
  const gbk = Buffer.from([0xd6, 0xec, 0xe9, 0x46, 0xbb, 0xf9]); // 朱镕基, 镕 only in GBK
  const gb18030 = Buffer.from([0xb4, 0xf3, 0x95, 0x32, 0x82, 0x36]); // 大𠀀, four-byte form
  for (const decl of ['GB2312', 'gbk', 'GB18030', 'UTF-8', undefined]) {
    let d = decodeBody(body(decl, gb2312));
    assert.equal(d.encoding, 'gb18030');
    assert.equal(nameIn(d.text), '大门口摄像机');
    d = decodeBody(body(decl, gbk));
    assert.equal(nameIn(d.text), '朱镕基');
    d = decodeBody(body(decl, gb18030));
    assert.equal(nameIn(d.text), '大𠀀');
  }
});

test('UTF-8 is used when the bytes are valid UTF-8 and declared UTF-8 or undeclared', () => {
  for (const decl of ['UTF-8', 'utf8', undefined]) {
    const d = decodeBody(body(decl, utf8('东门 1号通道 𠀀')));
    assert.equal(d.encoding, 'utf-8');
    assert.equal(nameIn(d.text), '东门 1号通道 𠀀');
  }
});

test('valid UTF-8 declared GB2312 is read as GB18030 (the declaration wins) unless it has a BOM', () => {
  const d = decodeBody(body('GB2312', utf8('中文')));
  assert.equal(d.encoding, 'gb18030');
  assert.equal(d.declared, 'gb2312');
  assert.equal(nameIn(d.text), new TextDecoder('gb18030').decode(utf8('中文')));
  assert.notEqual(nameIn(d.text), '中文');
  const bom = decodeBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body('GB2312', utf8('中文'))]));
  assert.equal(bom.encoding, 'utf-8');
  assert.equal(nameIn(bom.text), '中文');
  assert.ok(bom.text.startsWith('<?xml'), 'BOM removed');
});

test('UTF-8 declared but GBK bytes decode as GB18030', () => {
  const d = decodeBody(body('UTF-8', encodeGb2312('东门 1号通道')));
  assert.equal(d.encoding, 'gb18030');
  assert.equal(d.declared, 'utf-8');
  assert.equal(nameIn(d.text), '东门 1号通道');
});

test('pure ASCII decodes the same either way; garbage never throws', () => {
  const ascii = decodeBody(utf8('<?xml version="1.0"?><Notify><SN>1</SN></Notify>'));
  assert.equal(ascii.text, '<?xml version="1.0"?><Notify><SN>1</SN></Notify>');
  assert.equal(decodeBody(new Uint8Array(0)).text, '');
  const junk = decodeBody(Buffer.from([0xff, 0xfe, 0x80, 0x00, 0x81, 0xc0, 0xaf, 0x95]));
  assert.equal(junk.encoding, 'gb18030');
  assert.ok(junk.text.includes('\ufffd'));
  // A subarray view of a larger buffer decodes only its own bytes.
  const big = Buffer.concat([utf8('XXXX'), encodeGb2312('大门'), utf8('YYYY')]);
  assert.equal(decodeBody(big.subarray(4, 8)).text, '大门');
});
