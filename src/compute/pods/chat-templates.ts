// The chat templates a llama-cpp pod may be told to use instead of the one it reads from its GGUF file:
// node-llama-cpp's own, by their names there. A GGUF whose template is missing or misread (a fine-tune
// that kept its base model's, a Jinja template node-llama-cpp renders wrongly) gets one this way; the
// template decides how tool calls are written and whether a turn may hold several.
import { type SpecializedChatWrapperTypeName, specializedChatWrapperTypeNames } from 'node-llama-cpp';

export type ChatTemplateName = SpecializedChatWrapperTypeName;

export const CHAT_TEMPLATES: readonly ChatTemplateName[] = specializedChatWrapperTypeNames;

export function isChatTemplate(value: unknown): value is ChatTemplateName {
  return typeof value === 'string' && (CHAT_TEMPLATES as readonly string[]).includes(value);
}
