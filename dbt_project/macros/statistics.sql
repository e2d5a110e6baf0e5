{#-
  Distribution functions that neither DuckDB nor Spark SQL has, written once for both engines.
  They are maths, not business rules: the completeness tests (int_completeness_*_tests) say in
  their own SQL what they test and with which statistic; these turn the statistic into a p-value.
  Arguments are column names (or parenthesised expressions) of the calling select; a null
  argument gives null.
-#}

{#- The normal equivalent z of a Student's t value with df degrees of freedom, Wallace (1959):
    z = sign(t) sqrt(df ln(1 + t^2 / df)) (8 df + 1) / (8 df + 3). Phi(z) is then P(T <= t) within
    4e-4 (absolute) for df >= 5 and 8e-4 for df >= 3, against scipy's t distribution over |t| <= 8
    (tests/test_statistics_macros.py). -#}
{% macro t_normal_equivalent(t, df) -%}
sign({{ t }}) * sqrt({{ df }} * ln(1 + {{ t }} * {{ t }} / {{ df }})) * (8.0 * {{ df }} + 1) / (8.0 * {{ df }} + 3)
{%- endmacro %}

{#- P(T <= t) for Student's t with df degrees of freedom: Phi of Wallace's normal equivalent -#}
{% macro student_t_cdf(t, df) -%}
{{ normal_cdf('(' ~ t_normal_equivalent(t, df) ~ ')') }}
{%- endmacro %}

{#- Phi(z) = P(Z <= z) for a standard normal Z, as erfc(-z / sqrt 2) / 2, with erfc by the
    Chebyshev fit of Numerical Recipes (erfcc, relative error below 1.2e-7 everywhere). -#}
{% macro normal_cdf(z) -%}
case when {{ z }} is not null then
    case when {{ z }} < 0 then {{ _normal_upper_tail_abs(z) }} else 1 - {{ _normal_upper_tail_abs(z) }} end
end
{%- endmacro %}

{#- P(Z > |z|) = erfc(|z| / sqrt 2) / 2 -#}
{% macro _normal_upper_tail_abs(z) -%}
{%- set u = '(abs(' ~ z ~ ') / sqrt(2.0))' -%}
{%- set w = '(1.0 / (1.0 + 0.5 * abs(' ~ z ~ ') / sqrt(2.0)))' -%}
({{ w }} * exp(
    -{{ u }} * {{ u }} - 1.26551223 + {{ w }} * (1.00002368 + {{ w }} * (0.37409196 + {{ w }} * (0.09678418 + {{ w }} * (
        -0.18628806
        + {{ w }} * (0.27886807 + {{ w }} * (-1.13520398 + {{ w }} * (1.48851587 + {{ w }} * (-0.82215223 + {{ w }} * 0.17087277))))
    ))))
) / 2.0)
{%- endmacro %}
