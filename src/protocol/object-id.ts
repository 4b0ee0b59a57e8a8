import { z } from 'zod';

/** A conversation's id as a request names it (ours are `conv_…`; a longer one names none). */
export const ConversationIdSchema = z.string().min(1).max(128);
