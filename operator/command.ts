/** `gbcast operator`: parse config, find the cluster (in-cluster or kubeconfig), start, stop on SIGTERM. */
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, describeConfig, formatHelp, parseConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { onShutdownSignal } from '../common/shutdown.ts';
import { operatorOptions } from './config.ts';
import { Operator } from './operator.ts';

export const operatorSummary =
  'Runs the streamer pods of each GbStreamServer (ports, public addresses, autoscaling with drain) and keeps each GbCamera\'s credential, configuration and status in step with its device.';

export async function runOperator(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${formatHelp('operator', operatorSummary, operatorOptions)}\n\nThe cluster: in a pod its service account; elsewhere $KUBECONFIG or ~/.kube/config.\n`);
    return;
  }
  const config = parseConfig(operatorOptions, argv);
  const logger = createLogger('operator', config.logLevel);
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
  } catch (err) {
    throw new ConfigError([`cannot load the Kubernetes configuration: ${(err as Error).message}`]);
  }
  if (!kubeConfig.getCurrentCluster()) throw new ConfigError(['no Kubernetes cluster: not in a pod, and no $KUBECONFIG or ~/.kube/config']);
  logger.info({ config: describeConfig(operatorOptions, config), cluster: kubeConfig.getCurrentCluster()?.server }, 'starting');
  const operator = new Operator(config, logger, { kubeConfig });
  await operator.start();
  onShutdownSignal(logger, () => operator.stop());
}
