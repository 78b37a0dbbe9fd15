/** Provider presets for the "Add a key" form (CONTRACT "Provider keys"). Pure data + helpers. */
export type ProviderId = 'openai' | 'anthropic' | 'mistral' | 'gemini' | 'openai_compatible';

export const PROVIDERS: ReadonlyArray<{ id: ProviderId; label: string; defaultBaseUrl: string }> = [
  { id: 'openai', label: 'OpenAI', defaultBaseUrl: 'https://api.openai.com/v1' },
  { id: 'anthropic', label: 'Anthropic', defaultBaseUrl: 'https://api.anthropic.com' },
  { id: 'mistral', label: 'Mistral', defaultBaseUrl: 'https://api.mistral.ai/v1' },
  {
    id: 'gemini',
    label: 'Google Gemini',
    defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
  },
  { id: 'openai_compatible', label: 'OpenAI-compatible', defaultBaseUrl: '' },
];

/** Servers that speak OpenAI Chat Completions; the URL is what /chat/completions is appended to. */
export const COMPATIBLE_PRESETS: ReadonlyArray<{ id: string; label: string; baseUrl: string }> = [
  { id: 'ollama', label: 'Ollama', baseUrl: 'http://localhost:11434/v1' },
  { id: 'groq', label: 'Groq', baseUrl: 'https://api.groq.com/openai/v1' },
  { id: 'openrouter', label: 'OpenRouter', baseUrl: 'https://openrouter.ai/api/v1' },
  { id: 'vllm', label: 'vLLM', baseUrl: 'http://localhost:8000/v1' },
  { id: 'lmstudio', label: 'LM Studio', baseUrl: 'http://localhost:1234/v1' },
  { id: 'custom', label: '', baseUrl: '' },
];

export function providerLabel(id: string | number | null | undefined): string {
  return PROVIDERS.find((provider) => provider.id === id)?.label ?? String(id ?? '—');
}

export function presetForBaseUrl(baseUrl: string): string {
  return COMPATIBLE_PRESETS.find((preset) => preset.baseUrl && preset.baseUrl === baseUrl)?.id ?? 'custom';
}

/** A suggested label so that two keys of one provider are easy to tell apart later. */
export function suggestedLabel(provider: ProviderId, presetId: string): string {
  if (provider !== 'openai_compatible') return providerLabel(provider);
  return COMPATIBLE_PRESETS.find((preset) => preset.id === presetId)?.label || 'OpenAI-compatible';
}
