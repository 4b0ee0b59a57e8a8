// `npm run bench`: every benchmark, each printing ours vs a baseline measured side by side in this run.
import { benchGateway } from './gateway.ts';
import { printGatewayBench } from './gateway-print.ts';
import { benchScheduler, printSchedulerBench } from './scheduler.ts';
import { benchSettlementGas, printSettlementGas } from './settlement-gas.ts';

const only = process.argv[2];

if (!only || only === 'settlement') {
  printSettlementGas(await benchSettlementGas());
}

if (!only || only === 'scheduler') {
  printSchedulerBench(await benchScheduler());
}

if (!only || only === 'gateway') {
  printGatewayBench(await benchGateway());
}
