// `neurino pods`: the pods a router serves and how its autoscaler sizes them, as its GET /pods reports.
import { Command } from 'commander';
import type { PodStatus } from '../../application/gateway/ports.ts';
import { fetchOperatorList, type OperatorListOptions } from '../operator-list.ts';
import { formatPodTable } from '../pod-table.ts';
import { addOperatorListOptions } from './operator-list-options.ts';

export function podsCommand(): Command {
  return addOperatorListOptions(
    new Command('pods').description(
      "the models a router serves: warm nodes, the autoscaler's target and bounds, jobs running and queued",
    ),
  ).action(async (options: OperatorListOptions & { json?: boolean }) => {
    const pods = await fetchOperatorList<PodStatus>('/pods', options);
    console.log(options.json ? JSON.stringify(pods, null, 2) : formatPodTable(pods));
  });
}
