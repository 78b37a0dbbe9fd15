import { screen } from '@testing-library/react';

import { alice } from '@/testing/data-generators';
import { renderRoute } from '@/testing/test-utils';

describe('login', () => {
  it('shows the error when the password is wrong', async () => {
    alice();
    const { user } = renderRoute('/login');

    await user.type(await screen.findByLabelText('Email'), 'alice@example.com');
    await user.type(screen.getByLabelText('Password'), 'wrong password');
    await user.click(screen.getByRole('button', { name: 'Log in' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Email or password is wrong.');
  });

  it('signs in, returns to the page asked for, and signs out from the user menu', async () => {
    alice();
    const { user, router } = renderRoute('/members');

    // Anonymous: bounced to login with ?next=.
    await user.type(await screen.findByLabelText('Email'), 'alice@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery');
    await user.click(screen.getByRole('button', { name: 'Log in' }));

    expect(await screen.findByRole('heading', { name: 'Members' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/members');

    await user.click(screen.getByRole('button', { name: /Alice/ }));
    await user.click(screen.getByRole('button', { name: 'Log out' }));
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/login');
  });

  it('switches to Spanish and remembers it', async () => {
    const { user } = renderRoute('/login');
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText('Language'), 'es');
    expect(await screen.findByRole('button', { name: 'Iniciar sesión' })).toBeInTheDocument();
    expect(localStorage.getItem('potluck.lang')).toBe('es');
    expect(document.documentElement.lang).toBe('es');
    await user.selectOptions(screen.getByLabelText('Idioma'), 'en');
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
  });

  it('toggles dark mode on <html>', async () => {
    const { user } = renderRoute('/login');
    await user.click(await screen.findByRole('button', { name: 'Toggle dark mode' }));
    expect(document.documentElement).toHaveClass('dark');
    await user.click(screen.getByRole('button', { name: 'Toggle dark mode' }));
    expect(document.documentElement).not.toHaveClass('dark');
  });
});
