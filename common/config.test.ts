import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, envName, formatHelp, opt, parseConfig } from './config.ts';

const spec = {
  rtpPort: opt.int({ help: 'RTP port.', default: 10000, min: 1, max: 65535 }),
  pool: opt.string({ help: 'Pool name.', default: 'default' }),
  transport: opt.string({ help: 'Transport.', choices: ['udp', 'tcp'] as const, default: 'udp' }),
  redisUrl: opt.string({ help: 'Redis URL.' }),
  draining: opt.boolean({ help: 'Start draining.', default: false }),
  token: opt.string({ help: 'Token.', secret: true, required: true }),
};

test('flags win over environment, environment over defaults', () => {
  const c = parseConfig(spec, ['--rtp-port', '12000', '--token=x'], { GBCAST_RTP_PORT: '11000', GBCAST_POOL: 'edge' });
  assert.equal(c.rtpPort, 12000);
  assert.equal(c.pool, 'edge');
  assert.equal(c.transport, 'udp');
  assert.equal(c.redisUrl, undefined);
  assert.equal(c.draining, false);
  assert.equal(c.token, 'x');
});

test('boolean flags take bare, --no- and explicit forms', () => {
  assert.equal(parseConfig(spec, ['--draining', '--token', 't'], {}).draining, true);
  assert.equal(parseConfig(spec, ['--no-draining', '--token', 't'], { GBCAST_DRAINING: 'true' }).draining, false);
  assert.equal(parseConfig(spec, ['--draining=false', '--token', 't'], {}).draining, false);
});

test('every problem is reported at once', () => {
  try {
    parseConfig(spec, ['--rtp-port', '70000', '--transport', 'sctp', '--bogus', '1'], { GBCAST_DRAINING: 'maybe' });
    assert.fail('expected ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    assert.match(text, /unknown flag --bogus/);
    assert.match(text, /--rtp-port.*at most 65535/);
    assert.match(text, /--transport.*one of udp, tcp/);
    assert.match(text, /GBCAST_DRAINING.*true or false/);
    assert.match(text, /--token \(GBCAST_TOKEN\) is required/);
    assert.equal(err.problems.length, 5);
  }
});

test('names and help', () => {
  assert.equal(envName('rtpPort'), 'GBCAST_RTP_PORT');
  const help = formatHelp('streamer', 'Runs a streamer.', spec);
  assert.match(help, /--rtp-port <value> {3}GBCAST_RTP_PORT {3}\(default: 10000\)/);
  assert.match(help, /--transport <udp\|tcp>/);
});
