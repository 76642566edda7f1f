"""What the committee sees, built from query results: card labels and wording, display tables with
French headers, Altair charts. Pure functions (no Streamlit, no SQL), shared by the pages, the séance
and the exports; one module per screen."""
