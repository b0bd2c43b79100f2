FROM python:3.11-slim-bookworm
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.8
COPY requirements.lock pyproject.toml ./
RUN uv pip install --system --no-cache -r requirements.lock
COPY . .
RUN uv pip install --system --no-deps -e .
EXPOSE 8000
