// Keeps the page from going blank when a component throws: shows what happened and a retry.
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  name: string;
  children: ReactNode;
}
interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`${this.props.name} failed`, error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return (
        <div className="card boundary" role="alert">
          <strong>{this.props.name} could not be drawn.</strong> {this.state.error.message}
          <div>
            <button type="button" className="small" onClick={() => this.setState({ error: null })}>
              Try again
            </button>
          </div>
        </div>
      );
    }
    return this.props.children;
  }
}
