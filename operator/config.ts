import os from 'node:os';
import { opt } from '../common/config.ts';
import { logLevels } from '../common/logger.ts';

export const operatorOptions = {
  redisUrl: opt.string({ help: 'Redis URL of the installation: the load table it scales from, camera credentials and configuration it writes.', required: true }),
  redisPrefix: opt.string({ help: 'Prefix of every Redis key.', default: 'gbcast:' }),
  podRedisSecret: opt.string({
    help: 'NAME:KEY of a Secret holding the Redis URL for the streamer pods (when the URL has a password); without it pods get --redis-url as a plain value.',
    check: (v) => (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[-._a-zA-Z0-9]+$/.test(v) ? undefined : `must be SECRET-NAME:KEY, got "${v}"`),
  }),
  namespace: opt.string({ help: 'Only this namespace\'s GbStreamServers and GbCameras (all namespaces when unset).' }),
  leaderElection: opt.boolean({ help: 'Take a Lease before acting, so only one of several replicas does.', default: true }),
  leaseName: opt.string({ help: 'Name of the leader election Lease.', default: 'gbcast-operator' }),
  leaseNamespace: opt.string({ help: 'Namespace of the Lease; defaults to the pod\'s namespace (POD_NAMESPACE), else default.', defaultText: '$POD_NAMESPACE or default' }),
  leaseDurationS: opt.int({ help: 'Lease duration: how long a leader that stopped renewing blocks others.', default: 15, min: 2, max: 300 }),
  leaseRenewDeadlineS: opt.int({ help: 'A leader that cannot renew for this long stops acting.', default: 10, min: 1, max: 300 }),
  leaseRetryS: opt.number({ help: 'Interval between renewals and acquisition attempts.', default: 2, min: 0.1, max: 60 }),
  identity: opt.string({ help: 'This replica\'s name in the Lease.', default: os.hostname(), defaultText: 'the host name' }),
  workers: opt.int({ help: 'Reconciles running at once per resource kind.', default: 4, min: 1, max: 64 }),
  resyncS: opt.int({ help: 'Every object is reconciled again at least this often (and lists are re-read).', default: 300, min: 10 }),
  cameraKeepaliveStatusS: opt.int({
    help: 'A GbCamera whose only change is its last keepalive gets its status written at most this often (online/offline and other changes are written at once).',
    default: 300,
    min: 10,
  }),
  statusWritesPerSecond: opt.number({ help: 'GbCamera status writes per second at most, across all cameras.', default: 20, min: 0.1 }),
  httpPort: opt.int({ help: 'Port of /metrics and health.', default: 8082, min: 0, max: 65535 }),
  httpHost: opt.string({ help: 'Address the HTTP server binds to.', default: '0.0.0.0' }),
  logLevel: opt.string({ help: 'Log level.', choices: logLevels, default: 'info' }),
};
