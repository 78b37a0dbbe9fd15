import { ApiError, errorMessage, fieldErrors, parseApiError } from '@/lib/errors';

describe('parseApiError', () => {
  it.each([
    [
      'the contract envelope',
      400,
      { code: 'price_unknown', message: 'No price.', detail: {} },
      { code: 'price_unknown', message: 'No price.', fields: {} },
    ],
    [
      'validation field errors under detail.fields',
      400,
      {
        code: 'validation_error',
        message: 'Invalid input.',
        detail: { fields: { email: ['Enter a valid email.'], password: ['Too short.', 'Too common.'] } },
      },
      {
        code: 'validation_error',
        message: 'Invalid input.',
        fields: { email: ['Enter a valid email.'], password: ['Too short.', 'Too common.'] },
      },
    ],
    [
      'nested field messages',
      400,
      { code: 'validation_error', message: 'Bad.', detail: { fields: { limit: { amount: ['Bad amount.'] } } } },
      { code: 'validation_error', message: 'Bad.', fields: { limit: ['Bad amount.'] } },
    ],
    [
      'a bare DRF detail string',
      403,
      { detail: 'CSRF Failed.' },
      { code: 'permission_denied', message: 'CSRF Failed.', fields: {} },
    ],
    [
      'an HTML error page',
      502,
      undefined,
      { code: 'server_error', message: 'Request failed (502)', fields: {} },
    ],
    [
      'a JSON array',
      500,
      ['boom'],
      { code: 'server_error', message: 'Request failed (500)', fields: {} },
    ],
    [
      'an unknown 4xx without a body',
      418,
      null,
      { code: 'error', message: 'Request failed (418)', fields: {} },
    ],
  ])('reads %s', (_name, status, body, expected) => {
    const error = parseApiError(status, body);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(status);
    expect({ code: error.code, message: error.message, fields: error.fields }).toEqual(expected);
  });
});

describe('errorMessage and fieldErrors', () => {
  it('explains any thrown value in words', () => {
    expect(errorMessage(new ApiError({ status: 404, code: 'not_found', message: 'Gone.' }))).toBe('Gone.');
    expect(errorMessage(new TypeError('Failed to fetch'))).toBe('Failed to fetch');
    expect(errorMessage('weird')).toBe('Something went wrong.');
  });

  it('returns field errors only for API errors', () => {
    const error = new ApiError({ status: 400, code: 'validation_error', message: 'x', fields: { a: ['b'] } });
    expect(fieldErrors(error)).toEqual({ a: ['b'] });
    expect(fieldErrors(new Error('x'))).toEqual({});
  });
});
