// `neurino nodes`: the nodes connected to a router, as its GET /nodes reports them.
import { Command } from 'commander';
import type { NodeStatus } from '../../application/gateway/ports.ts';
import { formatNodeTable } from '../node-table.ts';
import { fetchOperatorList, type OperatorListOptions } from '../operator-list.ts';
import { addOperatorListOptions } from './operator-list-options.ts';

export function nodesCommand(): Command {
  return addOperatorListOptions(
    new Command('nodes').description(
      'the nodes connected to a router: state, running jobs, hardware, uptime, warm models',
    ),
  ).action(async (options: OperatorListOptions & { json?: boolean }) => {
    const nodes = await fetchOperatorList<NodeStatus>('/nodes', options);
    console.log(options.json ? JSON.stringify(nodes, null, 2) : formatNodeTable(nodes));
  });
}
