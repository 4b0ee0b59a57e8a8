// The chat template a llama-cpp pod's spec names instead of its GGUF file's own: one of node-llama-cpp's
// by name (`options.chatTemplate`), or a Jinja template's text (`options.chatTemplateJinja`), which an
// operator keeps in a file (`--chat-template-file`) as llama.cpp's and vLLM's servers take one.
import { readFile } from 'node:fs/promises';
import type { PodSpec } from '../../protocol/pod-spec.ts';
import {
  CHAT_TEMPLATES,
  type ChatTemplateName,
  isChatTemplate,
  jinjaTemplateProblem,
} from '../pods/chat-templates.ts';
import { MinerError } from './errors.ts';

/** How a pod prompts its model; neither field: with the GGUF file's own template. */
export interface PodChatTemplate {
  readonly chatTemplate?: ChatTemplateName;
  readonly chatTemplateJinja?: string;
}

/** The template a `llama-cpp` spec names, if any; one this node cannot use is refused in words. */
export function podChatTemplate(spec: PodSpec): PodChatTemplate {
  const named = spec.options?.chatTemplate;
  const jinja = spec.options?.chatTemplateJinja;
  const refuse = (reason: string) => new MinerError('invalid_config', `pod spec ${spec.name}: ${reason}`);
  if (named !== undefined && jinja !== undefined) {
    throw refuse('options.chatTemplate and options.chatTemplateJinja both name a chat template');
  }
  if (named !== undefined) {
    if (isChatTemplate(named)) return { chatTemplate: named };
    throw refuse(`options.chatTemplate ${JSON.stringify(named)} is none of ${CHAT_TEMPLATES.join(', ')}`);
  }
  if (jinja === undefined) return {};
  if (typeof jinja !== 'string')
    throw refuse('options.chatTemplateJinja must be the text of a Jinja template');
  const problem = jinjaTemplateProblem(jinja);
  if (problem !== undefined) throw refuse(`options.chatTemplateJinja cannot prompt a model: ${problem}`);
  return { chatTemplateJinja: jinja };
}

/** A Jinja chat template from a file, checked the way a pod will use it. */
export async function readChatTemplateFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? ': no such file' : '';
    throw new MinerError('invalid_config', `cannot read the chat template file ${path}${reason}`, { cause });
  }
  const problem = jinjaTemplateProblem(text);
  if (problem !== undefined) {
    throw new MinerError(
      'invalid_config',
      `the chat template file ${path} cannot prompt a model: ${problem}`,
    );
  }
  return text;
}

/** How a template reads in a message: by name, or as the Jinja template of a file or of the GGUF. */
export function describeChatTemplate(template: PodChatTemplate): string {
  if (template.chatTemplate !== undefined) return template.chatTemplate;
  if (template.chatTemplateJinja !== undefined) return 'a Jinja template of its own';
  return "the model file's own";
}
