import { presetForBaseUrl, providerLabel, suggestedLabel } from '@/features/providers/presets';

describe('provider presets', () => {
  it.each([
    ['http://localhost:11434/v1', 'ollama'],
    ['https://openrouter.ai/api/v1', 'openrouter'],
    ['https://api.groq.com/openai/v1', 'groq'],
    ['http://gpu-box:8000/v1', 'custom'],
    ['', 'custom'],
  ])('recognises %s as the %s preset', (url, preset) => {
    expect(presetForBaseUrl(url)).toBe(preset);
  });

  it.each([
    ['openai', 'ollama', 'OpenAI'],
    ['openai_compatible', 'ollama', 'Ollama'],
    ['openai_compatible', 'custom', 'OpenAI-compatible'],
    ['gemini', 'ollama', 'Google Gemini'],
  ] as const)('suggests a label for %s/%s', (provider, preset, label) => {
    expect(suggestedLabel(provider, preset)).toBe(label);
  });

  it('shows unknown providers by their id', () => {
    expect(providerLabel('anthropic')).toBe('Anthropic');
    expect(providerLabel('bedrock')).toBe('bedrock');
    expect(providerLabel(null)).toBe('—');
  });
});
