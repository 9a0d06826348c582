import { z } from 'zod';

const at = z.iso.datetime({ offset: true });
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb');
const noNul = (max: number) => z.string().max(max).refine((value) => !value.includes('\u0000'), 'must not contain NUL');

export const IMAGE_JOB_TYPES = ['Listing Builder', 'Scale'] as const;
export type ImageJobType = (typeof IMAGE_JOB_TYPES)[number];

export const AD_SIZE_NAMES = ['1080x1080', '1200x628', '1080x1920'] as const;
export const adSizeSchema = z.enum(AD_SIZE_NAMES);

const photo = {
  image_url: noNul(2048).optional(),
  image_base64: z.string().max(20 * 1024 * 1024).optional(),
};

/** One image to make: a template at a size, with its own photo or the product's. */
export const imageVariantRequestSchema = z.object({
  template: z.string().min(1).max(64),
  size: adSizeSchema.default('1080x1080'),
  ...photo,
});

/** `POST /v1/api/listing-builder` and `POST /v1/api/scale`. */
export const imageRequestSchema = z
  .object({
    asin: z.string().regex(/^[A-Z0-9]{10}$/, 'asin is 10 letters and digits'),
    title: noNul(300).min(1),
    bullet_points: z.array(noNul(300)).max(10).default([]),
    ...photo,
    brand_colors: z.object({ primary: color, secondary: color.optional(), text: color.optional() }),
    number_of_images: z.number().int().min(1).max(20).optional(),
    variants: z.array(imageVariantRequestSchema).min(1).max(20).optional(),
  })
  .refine((body) => body.image_url !== undefined || body.image_base64 !== undefined || body.variants?.every((v) => v.image_url || v.image_base64), {
    message: 'a product photo is needed: image_url or image_base64 (or one per variant)',
    path: ['image_url'],
  });
export type ImageRequest = z.infer<typeof imageRequestSchema>;

/** Where a photo comes from once the job exists: stored bytes, or a URL fetched when it runs. */
export const photoSourceSchema = z.union([z.object({ blobKey: z.string() }), z.object({ url: z.string() })]);
export type PhotoSource = z.infer<typeof photoSourceSchema>;

/** What an image job's JobSubmitted carries as `input`. */
export const imageJobInputSchema = z.object({
  jobType: z.enum(IMAGE_JOB_TYPES),
  asin: z.string(),
  title: z.string(),
  bulletPoints: z.array(z.string()),
  brandColors: z.object({ primary: z.string(), secondary: z.string().optional(), text: z.string().optional() }),
  variants: z.array(z.object({ template: z.string(), width: z.number().int(), height: z.number().int(), photo: photoSourceSchema })),
  creditsPerImage: z.number().int().min(0),
  creditCost: z.number().int().min(0),
});
export type ImageJobInput = z.infer<typeof imageJobInputSchema>;

// ---- image's own events, on top of the shared lifecycle ----

export const imageVariantRenderedSchema = z.object({
  type: z.literal('ImageVariantRendered'),
  data: z.object({ index: z.number().int().min(0), outputKey: z.string(), width: z.number().int(), height: z.number().int(), at }),
});
export const imageVariantFailedSchema = z.object({
  type: z.literal('ImageVariantFailed'),
  data: z.object({ index: z.number().int().min(0), code: z.string(), message: z.string(), at }),
});
export const imageEventSchema = z.discriminatedUnion('type', [imageVariantRenderedSchema, imageVariantFailedSchema]);
export type ImageEvent = z.infer<typeof imageEventSchema>;
export const IMAGE_EVENT_TYPES = imageEventSchema.options.map((option) => option.shape.type.value);
