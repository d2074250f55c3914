import { z } from "zod";

/** `?limit=&cursor=` — lists are newest first; the cursor is the opaque position after the last item. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
