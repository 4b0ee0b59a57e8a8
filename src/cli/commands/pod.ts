// `neurino pod`: a pod deployer's commands. `spec` writes the spec of a GGUF file or an upstream model (the
// same spec a miner builds for it, so both arrive at the same pod id), `register` puts it in PodRegistry
// with the key account as its deployer (who earns the deployer share), `show` reads back what the chain holds.
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { isHex } from 'viem';
import { describeFile, ggufPodSpec, upstreamPodSpec } from '../../compute/miner/local-pods.ts';
import { readChatTemplateFile } from '../../compute/miner/pod-chat-template.ts';
import type { ChatTemplateName } from '../../compute/pods/chat-templates.ts';
import { readPodSpecFile } from '../../orchestration/router/pod-spec-files.ts';
import { FatalError } from '../../protocol/errors.ts';
import { canonicalPodSpec, MAX_AUTOSCALE_REPLICAS, type PodSpec, podId } from '../../protocol/pod-spec.ts';
import {
  type ChainFlags,
  chainOptions,
  formatNeu,
  type KeyFlags,
  keyAccount,
  keyOption,
  resolveChain,
} from '../chain-flags.ts';
import {
  chatTemplateFileOption,
  chatTemplateOption,
  MATRYOSHKA_HELP,
  parseIntWithin,
  parsePositiveInt,
  parseWei,
} from '../options.ts';
import { readRegisteredPod, registerPod } from '../pod-registry.ts';

interface SpecFlags {
  model?: string;
  name?: string;
  chatTemplate?: ChatTemplateName;
  chatTemplateFile?: string;
  matryoshka?: boolean;
  upstreamModel?: string;
  vramMib: number;
  pricePerUnit?: bigint;
  deployerShareBps?: number;
  minReplicas?: number;
  maxReplicas?: number;
  out?: string;
}

const parseBps = parseIntWithin(0, 10_000, 'basis points');

/** The spec with the replica bounds the flags set (the router's autoscaler keeps the pod within them). */
async function buildSpec(flags: SpecFlags): Promise<PodSpec> {
  const spec = await describedSpec(flags);
  const min = flags.minReplicas ?? spec.autoscale.min;
  const max = flags.maxReplicas ?? spec.autoscale.max;
  if (min > max) {
    throw new InvalidArgumentError(`--min-replicas (${min}) is more than --max-replicas (${max})`);
  }
  return { ...spec, autoscale: { min, max } };
}

async function describedSpec(flags: SpecFlags): Promise<PodSpec> {
  const { model, upstreamModel } = flags;
  const pricing = {
    ...(flags.pricePerUnit === undefined ? {} : { pricePerUnit: flags.pricePerUnit }),
    ...(flags.deployerShareBps === undefined ? {} : { deployerShareBps: flags.deployerShareBps }),
  };
  if (upstreamModel !== undefined && model === undefined) {
    if (flags.name !== undefined) {
      throw new InvalidArgumentError('--name is for --model: an upstream pod is named after its model');
    }
    const flag = flags.chatTemplate !== undefined ? '--chat-template' : '--chat-template-file';
    if (flags.chatTemplate !== undefined || flags.chatTemplateFile !== undefined) {
      throw new InvalidArgumentError(`${flag} is for --model: an upstream server uses its own`);
    }
    if (flags.matryoshka === true) {
      throw new InvalidArgumentError(
        '--matryoshka is for --model: an upstream server is asked for the dimensions itself',
      );
    }
    return upstreamPodSpec({ name: upstreamModel, vramMiB: flags.vramMib }, pricing);
  }
  if (model !== undefined && upstreamModel === undefined) {
    const file = await describeFile(model);
    const template = {
      ...(flags.chatTemplate === undefined ? {} : { chatTemplate: flags.chatTemplate }),
      ...(flags.chatTemplateFile === undefined
        ? {}
        : { chatTemplateJinja: await readChatTemplateFile(flags.chatTemplateFile) }),
    };
    const matryoshka = flags.matryoshka === true ? { matryoshka: true } : {};
    const name = flags.name ?? basename(model, '.gguf');
    return ggufPodSpec({ name, ...template, ...matryoshka, ...file }, pricing);
  }
  throw new InvalidArgumentError('give one of --model <file.gguf> or --upstream-model <name>');
}

/** The spec as people read it: canonical keys, indented (the digest is over the canonical form anyway). */
const specText = (spec: PodSpec) => `${JSON.stringify(JSON.parse(canonicalPodSpec(spec)), null, 2)}\n`;

function specCommand(): Command {
  return new Command('spec')
    .description(
      "write a pod's spec: a GGUF file served by llama.cpp, or a model behind an OpenAI-compatible server",
    )
    .option('--model <file.gguf>', 'the GGUF file (hashed: the spec names its sha256 and size, not its path)')
    .option('--name <name>', 'the model name clients ask for (default: the file name without .gguf)')
    .addOption(chatTemplateOption())
    .addOption(chatTemplateFileOption())
    .option('--matryoshka', MATRYOSHKA_HELP)
    .option(
      '--upstream-model <name>',
      'instead of --model: the model an upstream server (vLLM, SGLang, Ollama) serves',
    )
    .option(
      '--vram-mib <n>',
      'memory the upstream model holds, metered into compute units',
      parsePositiveInt,
      1024,
    )
    .option('--price-per-unit <wei>', 'price in wei per compute unit (a GPU-GiB-millisecond)', parseWei)
    .option('--deployer-share-bps <n>', "the deployer's share of each payment, in basis points", parseBps)
    .option(
      '--min-replicas <n>',
      'nodes routers keep the model warm on with no request at all (autoscale.min; default 0: an idle model goes cold)',
      parseIntWithin(0, MAX_AUTOSCALE_REPLICAS),
    )
    .option(
      '--max-replicas <n>',
      'most nodes that hold the model warm at once; past it requests wait for them (autoscale.max; default 64)',
      parseIntWithin(1, MAX_AUTOSCALE_REPLICAS),
    )
    .option('--out <file>', 'write the spec here (default: print it)')
    .action(async (flags: SpecFlags) => {
      const spec = await buildSpec(flags);
      const text = specText(spec);
      if (flags.out === undefined) console.log(text.trimEnd());
      else await writeFile(flags.out, text);
      console.error(
        `pod ${spec.name} ${podId(spec)}: give the spec to the router (--pod) and to the miners (--pod-spec); ` +
          'register it with `neurino pod register`',
      );
    });
}

function registerCommand(): Command {
  const command = new Command('register')
    .description('register a spec in PodRegistry, the key account as its deployer (earning its share)')
    .argument('<spec.json>', 'the spec, as `neurino pod spec` wrote it')
    .action(async (path: string, flags: ChainFlags & KeyFlags) => {
      const spec = await readPodSpecFile(path);
      const account = await keyAccount(flags);
      if (account === undefined) {
        throw new FatalError('invalid_request', {
          message: 'who deploys it? a key is needed: --key or NEURINO_KEY',
        });
      }
      const chain = await resolveChain(flags);
      const id = podId(spec);
      const existing = await readRegisteredPod(chain, id);
      if (existing !== undefined) {
        if (existing.deployer !== account.address) {
          throw new FatalError('invalid_request', {
            message: `pod ${spec.name} ${id} is registered already, by ${existing.deployer}`,
          });
        }
        console.log(
          `pod ${spec.name} ${id} is registered already, deployed by this key (${account.address})`,
        );
        return;
      }
      const { hash } = await registerPod(chain, account, spec);
      console.log(`registered pod ${spec.name} ${id}, deployer ${account.address} (tx ${hash})`);
    });
  keyOption(chainOptions(command));
  return command;
}

function showCommand(): Command {
  const command = new Command('show')
    .description('what PodRegistry holds for a pod: its deployer, terms and state')
    .argument('<pod>', 'a spec file, or a pod id (0x and 64 hex digits)')
    .action(async (pod: string, flags: ChainFlags) => {
      const id = isHex(pod) && pod.length === 66 ? pod : podId(await readPodSpecFile(pod));
      const chain = await resolveChain(flags);
      const registered = await readRegisteredPod(chain, id);
      if (registered === undefined) {
        console.log(`pod ${id} is not registered on chain ${chain.chainId}`);
        return;
      }
      console.log(
        [
          `pod ${id} on chain ${chain.chainId}${registered.retired ? ' (retired)' : ''}`,
          `  deployer        ${registered.deployer}`,
          `  registered      ${new Date(registered.registeredAt * 1000).toISOString()}`,
          `  price per unit  ${registered.pricePerUnit} wei (${formatNeu(registered.pricePerUnit)})`,
          `  deployer share  ${registered.deployerShareBps / 100} %`,
          `  replicas        ${registered.minReplicas}..${registered.maxReplicas}`,
          `  memory          ${registered.minVramMiB} MiB at least`,
        ].join('\n'),
      );
    });
  chainOptions(command);
  return command;
}

export function podCommand(): Command {
  return new Command('pod')
    .description("a pod deployer's commands: write a pod's spec, register it on-chain, show it")
    .addCommand(specCommand())
    .addCommand(registerCommand())
    .addCommand(showCommand());
}
