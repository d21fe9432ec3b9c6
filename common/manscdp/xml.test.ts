import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { XmlElement, XmlResult } from './xml.ts';
import { attributeValue, childElement, childElements, decodeEntities, parseXml } from './xml.ts';

function root(r: XmlResult): XmlElement {
  assert.ok(r.ok, r.ok ? '' : `${r.error}: ${r.message}`);
  return r.root;
}

/** A compact view of a tree: name(text)[children], text trimmed, for readable expectations. */
function show(el: XmlElement): string {
  const t = el.text.trim();
  const kids = el.children.map(show).join(',');
  return `${el.name}${t ? `(${t})` : ''}${kids ? `[${kids}]` : ''}`;
}

function text(parent: XmlElement, ...path: string[]): string | undefined {
  let el: XmlElement | undefined = parent;
  for (const name of path) el = el && childElement(el, name);
  return el?.text;
}

test('reads a well-formed MANSCDP body', () => {
  const r = parseXml(
    '<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n<CmdType>Catalog</CmdType>\r\n<SumNum>2</SumNum>\r\n' +
      '<DeviceList Num="2"><Item><DeviceID>1</DeviceID></Item><Item><DeviceID>2</DeviceID><Info/></Item></DeviceList>\r\n</Response>\r\n',
  );
  assert.ok(r.ok);
  assert.equal(r.repairs, 0);
  assert.equal(r.truncated, false);
  assert.equal(show(r.root), 'Response[CmdType(Catalog),SumNum(2),DeviceList[Item[DeviceID(1)],Item[DeviceID(2),Info]]]');
  const list = childElement(r.root, 'devicelist');
  assert.ok(list);
  assert.equal(attributeValue(list, 'Num'), '2');
  assert.equal(attributeValue(list, 'num'), '2');
  assert.equal(childElements(list, 'ITEM').length, 2);
});

test('skips BOM, garbage before the declaration, comments, DOCTYPE and PIs; CDATA is text', () => {
  const r = root(
    parseXml(
      '\ufeffHTTP junk <b>not root</b>\r\n<?xml version="1.0"?><!DOCTYPE Notify><!-- a comment with <Tags> -->' +
        '<Notify><?pi stuff?><CmdType><![CDATA[Keep<alive>]]></CmdType><!----><SN>1<!-- x --></SN></Notify>',
    ),
  );
  assert.equal(show(r), 'Notify[CmdType(Keep<alive>),SN(1)]');
  assert.equal(show(root(parseXml('garbage\r\n<Notify><SN>1</SN></Notify>'))), 'Notify[SN(1)]');
});

test('decodes standard entities and numeric references; leaves unknown ones literal', () => {
  assert.equal(decodeEntities('&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#X43;&#x5927;&#x20000;'), '<>&"\'ABC大𠀀');
  assert.equal(decodeEntities('&amp;lt; &AMP; &nbsp;'), '&lt; & \u00a0');
  assert.equal(decodeEntities('A&B &foo; &#0; &#xD800; &#x110000; &#; &; & &lt'), 'A&B &foo; &#0; &#xD800; &#x110000; &#; &; & &lt');
  assert.equal(decodeEntities('&&amp;&'), '&&&');
  assert.equal(decodeEntities('&verylongentityname;'), '&verylongentityname;');
  const r = root(parseXml('<a x="1 &amp; 2" y=\'&lt;\'><b>&#x4E1C;&#38376;</b></a>'));
  assert.equal(attributeValue(r, 'x'), '1 & 2');
  assert.equal(attributeValue(r, 'y'), '<');
  assert.equal(text(r, 'b'), '东门');
});

test('unescaped & and < inside a text field stay text, siblings intact', () => {
  const r = root(
    parseXml(
      '<Item><DeviceID>1</DeviceID><Address>A&B <x> road</Address><Name>1 < 2 <3 a<b</Name>' +
        '<Owner>Bldg <A floor> east</Owner><Block><口>楼</Block><Model>x</y</Model><Status>ON</Status></Item>',
    ),
  );
  assert.equal(text(r, 'Address'), 'A&B <x> road');
  assert.equal(text(r, 'Name'), '1 < 2 <3 a<b');
  assert.equal(text(r, 'Owner'), 'Bldg <A floor> east');
  assert.equal(text(r, 'Block'), '<口>楼');
  assert.equal(text(r, 'Model'), 'x</y');
  assert.equal(text(r, 'Status'), 'ON');
  assert.equal(r.children.length, 7);
});

test('matches end tags case-insensitively and closes elements left open', () => {
  assert.equal(show(root(parseXml('<Notify><DeviceID>1</DEVICEid><sn>2</SN></notify>'))), 'Notify[DeviceID(1),sn(2)]');
  // <Name> never closed, but the item has other children: it is a real element closed by </Item>.
  const r = parseXml('<R><Item><DeviceID>1</DeviceID><Name>cam</Item><Item><DeviceID>2</DeviceID></Item></R>');
  assert.equal(show(root(r)), 'R[Item[DeviceID(1),Name(cam)],Item[DeviceID(2)]]');
  assert.ok(r.ok && r.repairs === 1 && !r.truncated);
});

test('a start tag named like an open element closes it: a missing </Item> loses no item', () => {
  const r = parseXml(
    '<Response><DeviceList><Item><DeviceID>1</DeviceID><Item><DeviceID>2</DeviceID></Item><ITEM><DeviceID>3</DeviceID><Name>x</DeviceList></Response>',
  );
  assert.equal(show(root(r)), 'Response[DeviceList[Item[DeviceID(1)],Item[DeviceID(2)],ITEM[DeviceID(3),Name(x)]]]');
  // The root is the exception: a second root-named element nests (and is ignored by readers).
  assert.equal(show(root(parseXml('<Notify><SN>1</SN><Notify><SN>2</SN></Notify></Notify>'))), 'Notify[SN(1),Notify[SN(2)]]');
});

test('an end tag that matches nothing open is text; stray text in containers is kept apart', () => {
  const r = root(parseXml('<R>stray<A>1</B>2</A></C>tail<D>3</D></R>'));
  assert.equal(text(r, 'A'), '1</B>2');
  assert.equal(text(r, 'D'), '3');
  assert.equal(r.text.trim(), 'stray</C>tail');
});

test('a truncated body keeps every element that started', () => {
  const r = parseXml('<Response><CmdType>Catalog</CmdType><DeviceList Num="2"><Item><DeviceID>1</DeviceID></Item><Item><DeviceID>2</Devi');
  assert.ok(r.ok);
  assert.equal(r.truncated, true);
  assert.equal(show(r.root), 'Response[CmdType(Catalog),DeviceList[Item[DeviceID(1)],Item[DeviceID(2</Devi)]]]');
  const cut = parseXml('<a><b x="1');
  assert.ok(cut.ok && cut.truncated);
  assert.equal(show(cut.root), 'a(<b x="1)');
  assert.equal(show(root(parseXml('<a><![CDATA[half'))), 'a(half)');
  // An unterminated comment ends at the next tag rather than swallowing the rest.
  assert.equal(show(root(parseXml('<a>x<!-- never closed <b>y</b>'))), 'a(x)[b(y)]');
});

test('reads only the first root element and accepts a self-closing root', () => {
  assert.equal(show(root(parseXml('<a>1</a><b>2</b>'))), 'a(1)');
  assert.equal(show(root(parseXml('<Notify/><x/>'))), 'Notify');
});

test('tolerates broken attributes', () => {
  const r = root(parseXml('<a n=1 m  =  "2" flag o=\'3\' n="dup" , ; q="4"/>'));
  assert.deepEqual({ ...r.attributes }, { n: '1', m: '2', flag: '', o: '3', q: '4' });
  const proto = root(parseXml('<a __proto__="x" constructor="y"/>'));
  assert.equal(attributeValue(proto, '__proto__'), 'x');
  assert.equal(attributeValue(proto, 'constructor'), 'y');
  assert.equal(attributeValue(proto, 'toString'), undefined);
});

test('returns an error for no root and for limits', () => {
  for (const input of ['', 'just text', '<?xml version="1.0"?>', '<!-- only -->', '< a>', '</a>']) {
    const r = parseXml(input);
    assert.ok(!r.ok && r.error === 'no-root', input);
  }
  const deep = (n: number): string => {
    const names = Array.from({ length: n }, (_, i) => `e${i}`);
    return names.map((x) => `<${x}>`).join('') + names.reverse().map((x) => `</${x}>`).join('');
  };
  assert.ok(parseXml(deep(32)).ok);
  const tooDeep = parseXml(deep(33));
  assert.ok(!tooDeep.ok && tooDeep.error === 'too-deep');
  assert.ok(parseXml(deep(10), { maxDepth: 10 }).ok);
  const many = `<r>${'<i/>'.repeat(100)}</r>`;
  assert.ok(parseXml(many, { maxElements: 101 }).ok);
  const tooMany = parseXml(many, { maxElements: 100 });
  assert.ok(!tooMany.ok && tooMany.error === 'too-many-elements');
  const long = parseXml(`<r>${'x'.repeat(100)}</r>`, { maxLength: 100 });
  assert.ok(!long.ok && long.error === 'too-long');
  const defaults = parseXml('x'.repeat((1 << 20) + 1));
  assert.ok(!defaults.ok && defaults.error === 'too-long');
});

test('hostile inputs near the size limit finish (linear scan) with sensible results', () => {
  const size = 1 << 20;
  const fill = (unit: string, prefix = '<r>'): string => prefix + unit.repeat(Math.floor((size - prefix.length) / unit.length));
  const cases: [string, (r: XmlResult) => void][] = [
    [fill('<a '), (r) => assert.ok(r.ok && r.root.name === 'r')],
    [fill('<a b="'), (r) => assert.ok(r.ok && r.root.children.length === 0)],
    [fill('<!--'), (r) => assert.ok(r.ok)],
    [fill('<!-- x>'), (r) => assert.ok(r.ok)],
    [fill('<![CDATA['), (r) => assert.ok(r.ok)],
    [fill('<?'), (r) => assert.ok(r.ok)],
    [fill('<!D'), (r) => assert.ok(r.ok)],
    [fill('&'), (r) => assert.ok(r.ok && r.root.text.length === size - 3)],
    [fill('&#x41'), (r) => assert.ok(r.ok)],
    [fill('</a>'), (r) => assert.ok(r.ok)],
    [fill('<a>x</b>'), (r) => assert.ok(!r.ok && r.error === 'too-many-elements')], // same names do not nest
    [fill('<i/>'), (r) => assert.ok(!r.ok && r.error === 'too-many-elements')],
    [fill('<a>', ''), (r) => assert.ok(!r.ok && r.error === 'too-many-elements')],
    [Array.from({ length: 100_000 }, (_, k) => `<e${k}>`).join(''), (r) => assert.ok(!r.ok && r.error === 'too-deep')],
    [fill('<a><b>t</a>'), (r) => assert.ok(!r.ok && r.error === 'too-many-elements')],
    [fill('<'), (r) => assert.ok(r.ok && r.root.text.length === size - 3)],
  ];
  for (const [input, check] of cases) check(parseXml(input));
});
