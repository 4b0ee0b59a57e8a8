// The chat templates a llama-cpp pod may be told to use instead of the one it reads from its GGUF file:
// node-llama-cpp's own, by their names there, or a Jinja template's text, as GGUF files carry them. A GGUF
// whose template is missing or misread (a fine-tune that kept its base model's, a Jinja template
// node-llama-cpp renders wrongly, a template fixed after the file was published) gets one this way; the
// template decides how tool calls are written and whether a turn may hold several.
import {
  JinjaTemplateChatWrapper,
  type SpecializedChatWrapperTypeName,
  specializedChatWrapperTypeNames,
} from 'node-llama-cpp';

export type ChatTemplateName = SpecializedChatWrapperTypeName;

export const CHAT_TEMPLATES: readonly ChatTemplateName[] = specializedChatWrapperTypeNames;

export function isChatTemplate(value: unknown): value is ChatTemplateName {
  return typeof value === 'string' && (CHAT_TEMPLATES as readonly string[]).includes(value);
}

/** A Jinja template is part of the pod spec: past this many characters it is not a chat template. */
export const MAX_JINJA_TEMPLATE_CHARS = 65_536;

/**
 * Why node-llama-cpp cannot prompt a model with this Jinja template (it renders a sample conversation
 * through it and checks every message is there), or undefined when it can.
 */
export function jinjaTemplateProblem(template: string): string | undefined {
  if (template.trim() === '') return 'it is empty';
  if (template.length > MAX_JINJA_TEMPLATE_CHARS) {
    return `it is ${template.length} characters long, past the ${MAX_JINJA_TEMPLATE_CHARS} a pod spec holds`;
  }
  try {
    new JinjaTemplateChatWrapper({ template });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
