import { useId } from 'react';
import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from 'react';

type FieldFrameProps = {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  errors?: string[] | undefined;
  children: ReactNode;
};

function FieldFrame({ id, label, hint, errors, children }: FieldFrameProps) {
  return (
    <div className={`field${errors && errors.length > 0 ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {errors && errors.length > 0 ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {errors.join(' ')}
        </p>
      ) : null}
    </div>
  );
}

function describedBy(id: string, hint: unknown, errors: string[] | undefined): string | undefined {
  const ids = [hint ? `${id}-hint` : '', errors && errors.length > 0 ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return ids || undefined;
}

export type TextFieldProps = InputHTMLAttributes<HTMLInputElement> & {
  label: ReactNode;
  hint?: ReactNode;
  errors?: string[] | undefined;
};

export function TextField({ label, hint, errors, id, ...rest }: TextFieldProps) {
  const autoId = useId();
  const fieldId = id ?? autoId;
  return (
    <FieldFrame id={fieldId} label={label} hint={hint} errors={errors}>
      <input
        id={fieldId}
        className="input"
        aria-invalid={errors && errors.length > 0 ? true : undefined}
        aria-describedby={describedBy(fieldId, hint, errors)}
        {...rest}
      />
    </FieldFrame>
  );
}

export type SelectFieldProps = SelectHTMLAttributes<HTMLSelectElement> & {
  label: ReactNode;
  hint?: ReactNode;
  errors?: string[] | undefined;
  options: ReadonlyArray<{ value: string; label: string }>;
};

export function SelectField({ label, hint, errors, options, id, ...rest }: SelectFieldProps) {
  const autoId = useId();
  const fieldId = id ?? autoId;
  return (
    <FieldFrame id={fieldId} label={label} hint={hint} errors={errors}>
      <select
        id={fieldId}
        className="input"
        aria-invalid={errors && errors.length > 0 ? true : undefined}
        aria-describedby={describedBy(fieldId, hint, errors)}
        {...rest}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}
